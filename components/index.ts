export * from "./ComponentCatalog";
export * from "./NotebookComponent";
