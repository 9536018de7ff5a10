/**
 * naaw-jupyterlab: NaaW in JupyterLab 4's right side bar, and the command "Make component from
 * selected cells" (palette and cell context menu), which tags cells through JupyterLab's own cell
 * metadata, as the property inspector would.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, InputDialog, showErrorMessage } from '@jupyterlab/apputils';
import { IMermaidManager } from '@jupyterlab/mermaid';
import { INotebookTracker } from '@jupyterlab/notebook';
import { NaawPanel } from './panel';
import { componentNameProblem, componentTags } from './tags';

export const MAKE_COMPONENT = 'naaw:make-component';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'naaw-jupyterlab:panel',
  description: 'NaaW components, problems, workflows, cost and local runs for the open notebook',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, IMermaidManager],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker, palette: ICommandPalette | null, mermaid: IMermaidManager | null) => {
    const panel = new NaawPanel(tracker, mermaid);
    app.shell.add(panel, 'right', { rank: 600 });

    app.commands.addCommand(MAKE_COMPONENT, {
      label: 'Make component from selected cells',
      caption: "Tag the selected cells 'component:<name>'",
      isEnabled: () => tracker.currentWidget !== null,
      execute: async () => {
        const notebook = tracker.currentWidget?.content;
        if (!notebook) return;
        const cells = notebook.widgets.filter(cell => cell.model.type === 'code' && notebook.isSelectedOrActive(cell));
        if (!cells.length) {
          await showErrorMessage('Make component', 'Select one or more code cells first.');
          return;
        }
        const answer = await InputDialog.getText({ title: 'Component name', placeholder: 'e.g. normalize' });
        if (!answer.button.accept) return;
        const name = (answer.value ?? '').trim();
        const problem = componentNameProblem(name);
        if (problem) {
          await showErrorMessage('Make component', problem);
          return;
        }
        for (const cell of cells) {
          cell.model.setMetadata('tags', componentTags(cell.model.getMetadata('tags') as string[] | undefined, name));
        }
      },
    });
    palette?.addItem({ command: MAKE_COMPONENT, category: 'NaaW' });
    app.contextMenu.addItem({ command: MAKE_COMPONENT, selector: '.jp-Notebook .jp-Cell', rank: 20 });
  },
};

export default plugin;
