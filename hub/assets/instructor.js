// The instructor grid: learners × lab checks, filled from the snapshot and then from the live
// stream of reports (server-sent events), one cell per check.
(() => {
  const root = document.getElementById('grid');
  const classroom = root.dataset.classroom;
  let grid = { columns: [], rows: [] };
  const key = (c) => `${c.labId}/${c.stepId}/${c.checkId}`;
  const render = () => {
    const head = `<tr><th scope="col">Learner</th>${grid.columns.map((c) => `<th scope="col" title="${escape(c.title)}">${escape(c.labId)}<br>${escape(c.checkId)}</th>`).join('')}<th scope="col">View</th></tr>`;
    const rows = grid.rows.map((row) => {
      const cells = grid.columns.map((c) => {
        const cell = row.cells[key(c)];
        if (!cell) return '<td class="none" data-status="none">·</td>';
        return `<td class="${cell.status}" data-status="${cell.status}" title="${escape(cell.observed)}">${cell.status === 'pass' ? '✓ pass' : '✗ fail'}</td>`;
      });
      return `<tr data-learner="${row.learnerId}"><th scope="row">${escape(row.displayName)}</th>${cells.join('')}<td><a href="/s/${row.learnerId}/" target="_blank">open as learner (read-only)</a></td></tr>`;
    });
    root.innerHTML = `<table>${head}${rows.join('')}</table>`;
  };
  const escape = (text) => String(text).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  const events = new EventSource(`/hub/api/classrooms/${classroom}/live`);
  events.addEventListener('grid', (event) => {
    grid = JSON.parse(event.data);
    render();
  });
  events.addEventListener('cells', (event) => {
    const update = JSON.parse(event.data);
    let row = grid.rows.find((r) => r.learnerId === update.learnerId);
    if (!row) grid.rows.push((row = { learnerId: update.learnerId, displayName: update.displayName, cells: {} }));
    for (const { column, cell } of update.cells) {
      if (!grid.columns.some((c) => key(c) === key(column))) grid.columns.push(column);
      row.cells[key(column)] = cell;
    }
    render();
  });
})();
