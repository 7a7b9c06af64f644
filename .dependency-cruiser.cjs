/**
 * Baton's layers, checked by `npm run check` (dependency-cruiser). Arrows point down only:
 *
 *   transport     src/graphql, src/http, src/app.ts, src/main.ts, src/cli.ts,   GraphQL, WebSocket, HTTP
 *                 src/modules/** /*.resolver.ts, *.inputs.ts and *.graphql.ts (the object types)
 *   engine and    src/engine (the handover engine), src/policy (who may do what),  rules and their effects
 *   services      src/modules/** services, wording and visibility rules, src/jobs (deadlines)
 *   repositories  src/repositories                                               the SQL
 *   database      src/db (pool, statements, transactions, migrations)            Postgres
 *   ports/kernel  src/events (publishing after commit), src/kernel, errors, config
 *   model         src/modules/** /*.entity.ts: the rows, and *.model.ts: values computed from them
 *                 (a report's rows); imported by every layer; they import only each other, and
 *                 no GraphQL: each module's *.graphql.ts gives the schema its shape.
 *
 * transport -> engine and services -> repositories -> database; nothing imports upward, no circles,
 * and every file under src/ belongs to a layer (a file in none fails the check).
 */
const transport = ["^src/(graphql|http)/", "^src/(app|main|cli)\\.ts$", "^src/modules/.+\\.(resolver|inputs|graphql)\\.ts$"];
const services = ["^src/(engine|policy|jobs)/", "^src/modules/.+\\.service\\.ts$", "^src/modules/.+/(messages|event-visibility)\\.ts$", "^src/services\\.ts$"];
const repositories = ["^src/repositories/"];
const kernel = "^src/(events|db|kernel)/|^src/(errors|validation|config|logger|startup-error|metrics|rate-limits|memory-trim)\\.ts$";
const model = "^src/modules/.+\\.(entity|model)\\.ts$";

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "A circle makes every module in it depend on every other one.",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "services-not-to-transport",
      severity: "error",
      comment: "The engine, the policy, services, entities and jobs know nothing of GraphQL, sockets or HTTP.",
      from: { path: ["^src/(engine|policy|jobs|repositories)/", "^src/modules/"], pathNot: "\\.(resolver|inputs|graphql)\\.ts$" },
      to: { path: transport },
    },
    {
      name: "transport-through-services",
      severity: "error",
      comment:
        "The transport reaches data only through services (src/services.ts): no repository, no statement, no row mapping. It may classify database faults (src/db/faults.ts); main.ts and cli.ts, which open the database, are the composition roots.",
      from: { path: transport, pathNot: "^src/(main|cli)\\.ts$" },
      to: { path: ["^src/repositories/", "^src/db/"], pathNot: "^src/db/faults\\.ts$" },
    },
    {
      name: "repositories-not-upward",
      severity: "error",
      comment: "Repositories say things in SQL; they know no service, engine, policy or transport.",
      from: { path: repositories },
      to: { path: [...transport, ...services] },
    },
    {
      name: "database-and-kernel-not-upward",
      severity: "error",
      comment: "The database, the publishing port and the kernel depend on nothing above them.",
      from: { path: kernel },
      to: { path: [...transport, ...services, ...repositories] },
    },
    {
      name: "domain-without-transport",
      severity: "error",
      comment:
        "Only the transport knows GraphQL, sockets and HTTP: the engine, policy, services, repositories, entities, errors, pages, the database and the publishing port import none of them (the edges map them: src/graphql/errors.ts).",
      from: { path: [...services, ...repositories, kernel, model] },
      to: { path: "^node_modules/(graphql|@apollo|graphql-ws|type-graphql|express|ws|cors|pino-http|@escape.tech)(/|$)" },
    },
    {
      name: "every-file-in-a-layer",
      severity: "error",
      comment: "A file under src/ in no layer escapes every rule above: give it one here.",
      from: { path: "^src/", pathNot: [...transport, ...services, ...repositories, kernel, model] },
      to: {},
    },
    {
      name: "model-only-model",
      severity: "error",
      comment: "The entities are the rows: they import each other and nothing else of Baton's.",
      from: { path: model },
      to: { path: "^src/", pathNot: model },
    },
    {
      name: "src-not-to-test",
      severity: "error",
      comment: "Production code never imports the tests.",
      from: { path: "^src/" },
      to: { path: "^test/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "^(dist|schema/generated)/" },
  },
};
