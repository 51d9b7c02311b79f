// Topic and channel name rules, as nsqd enforces them.

const NAME_RE = /^[.a-zA-Z0-9_-]+(#ephemeral)?$/;
const EPHEMERAL_SUFFIX = '#ephemeral';

function isValidName(name: string): boolean {
  return name.length >= 1 && name.length <= 64 && NAME_RE.test(name);
}

export function isValidTopicName(name: string): boolean {
  return isValidName(name);
}

export function isValidChannelName(name: string): boolean {
  return isValidName(name);
}

export function isEphemeral(name: string): boolean {
  return name.endsWith(EPHEMERAL_SUFFIX);
}
