// The CWL emitter lives in ./cwl/ (one module per job); this path stays the public entry point.
export * from "./cwl/index";
