# Signet — multi-stage image. Build:  docker build -t signet .
# Run:    docker run -p 8080:8080 -v signet-work:/work signet --server.host.port=signet.example:8080
# Flags after the image name are passed to `signet serve`; the work folder is /work (SIGNET_WORK_FOLDER).

FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source against Node's headers.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    SIGNET_WORK_FOLDER=/work
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
RUN mkdir -p /work && chown node:node /work
USER node
VOLUME ["/work"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.SIGNET_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/signet.js", "serve"]
