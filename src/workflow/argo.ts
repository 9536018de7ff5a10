// The Argo emitter lives in ./argo/ (one module per job); this path stays the public entry point.
export * from "./argo/index";
