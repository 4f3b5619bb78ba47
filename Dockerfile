# The agent-memory server, as docker-compose.yml runs it.
# test/packaging.docker.test.ts starts the server from exactly the files copied here.

# Build: the dev dependencies and the TypeScript build to dist/.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No scripts: `prepare` would build before the sources are here (the next RUN builds).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY layers ./layers
COPY otel ./otel
RUN npm run build

# Runtime: the production dependencies and their peers (effect, @effect/*), and the build.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY --from=build /app/dist ./dist
ENV HOST=0.0.0.0 PORT=8080
EXPOSE 8080
CMD ["node", "--enable-source-maps", "dist/layers/main.js"]
