# nsq in a container: node:20-slim, the package installed with its runtime dependencies only,
# run as a non-root user, data in /data. Build: docker build -t nsq .
# Run:   docker run -p 4150:4150 -p 4151:4151 -v nsq-data:/data nsq serve
FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-slim
WORKDIR /opt/nsq
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/commands ./dist/commands
COPY --from=build /src/dist/bundle ./dist/bundle
COPY --from=build /src/dist/admin-ui ./dist/admin-ui
COPY --from=build /src/help ./help
RUN for n in nsq nsqd nsqlookupd nsqadmin nsq_tail nsq_to_file nsq_to_http nsq_to_nsq nsq_stat to_nsq; do ln -s /opt/nsq/bin/nsq.js /usr/local/bin/$n; done \
 && useradd --system --uid 4150 --home-dir /data nsq && mkdir -p /data && chown nsq /data
USER nsq
WORKDIR /data
VOLUME /data
EXPOSE 4150 4151 4160 4161 4171
ENTRYPOINT ["nsq"]
# listen on every interface inside the container (nsq's own default is 127.0.0.1)
CMD ["serve", "--tcp-address=0.0.0.0:4150", "--http-address=0.0.0.0:4151", "--data-path=/data"]
