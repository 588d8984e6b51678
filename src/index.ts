/** ClawHub as a library. Each bounded context is also importable on its own (`clawhub-hub/skill`). */
export * from "./errors/index.ts";
export * as skill from "./skill/index.ts";
