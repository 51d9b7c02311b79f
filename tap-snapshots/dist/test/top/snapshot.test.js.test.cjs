/* IMPORTANT
 * This snapshot file is auto-generated, but designed for humans.
 * It should be checked into source control and tracked carefully.
 * Re-generate by setting TAP_SNAPSHOT=1 and running tests.
 * Make sure to inspect the output below.  Do not ignore changes!
 */
'use strict'
exports[`dist/test/top/snapshot.test.js > TAP > main screen and consumer screen, with colours > consumers of orders/billing 1`] = `
[1mnsq top[22m  [31mnodes 1 up, 1 down[39m  in [1m100/s[22m  out [1m100/s[22m  depth [1m220[22m  [2msort: name[22m
[31m10.0.0.2:4151 down: connection refused (retrying)[39m
[33m! orders/audit: backlog grows with no consumer (depth 100)[39m
[1morders[22m / [1mbilling[22m [2m— consumers (Esc: back)[22m
worker-1@worker-1.local · 10.0.0.7:51234 → 10.0.0.1:4151 · go-nsq/1.1.0 · protocol V2 · connected 2…
[4m[1mCLIENT         ADDRESS                 RDY  INFLT    MSGS     FIN    REQ CONNECTED FEATURES      [22m[24m
[7mworker-1       10.0.0.7:51234           10      5     880     875      3        1m snappy        [27m
[2m↑↓ move · Enter open · / filter · s sort · p pause · e empty · d delete · ? help · q quit[22m
`

exports[`dist/test/top/snapshot.test.js > TAP > main screen and consumer screen, with colours > main screen 1`] = `
[1mnsq top[22m  [31mnodes 1 up, 1 down[39m  in [1m100/s[22m  out [1m100/s[22m  depth [1m220[22m  [2msort: name[22m
[31m10.0.0.2:4151 down: connection refused (retrying)[39m
[33m! orders/audit: backlog grows with no consumer (depth 100)[39m
[4m[1mTOPIC / CHANNEL                DEPTH  INFLT  REQ/S  T-O/S    IN/S   OUT/S   DEAD  CONS NODES STATE [22m[24m
[7m[31morders                             0      5     10      0     100     100      0     1     1       [39m[27m
[2m  └ audit                        100      0      0      0     100       0      0     0       paused[22m
[33m  └ billing                      120      5     10      0     100     100      0     1             [39m
[2m↑↓ move · Enter open · / filter · s sort · p pause · e empty · d delete · ? help · q quit[22m
`
