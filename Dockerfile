# The Assay worker and CLI. Build: docker build -t assay .   Run: docker run assay (starts a worker).
FROM node:20-bookworm-slim AS build
WORKDIR /app
# The native addons (native/): the candidate scanner builds against the system's RE2 (and Node's own OpenSSL, for
# fingerprints); the small-file reader.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ libre2-dev && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build && npm run build:native && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
RUN apt-get update && apt-get install -y --no-install-recommends libre2-9 && rm -rf /var/lib/apt/lists/*
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/native/build/Release/assay_scan.node /app/native/build/Release/assay_fs.node ./native/build/Release/
COPY --from=build /app/bin ./bin
USER node
# A 64 MB young generation (Node's default is 16 MB): a worker makes short-lived buffers, texts and results for every
# object, and with the default its main thread paused for garbage collection about four times as often
# (`npm run bench:e2e` prints the pauses per object). Outside the image: NODE_OPTIONS=--max-semi-space-size=64.
ENTRYPOINT ["node", "--max-semi-space-size=64", "bin/assay.js"]
CMD ["worker"]
