export * from "../../src/embedded/PgServer.js"
