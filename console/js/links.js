// Link status: every agency's CAD link and how many consoles are signed in for it. A room whose
// CAD link is down gets a "phone them" line with its number; a room that is out (no CAD and no
// console anywhere for its configured time, issue 16) says so with its fallback room.
import * as api from './api.js';
import { app, me } from './app.js';
import { h, clear, age } from './util.js';

export function renderLinks(main) {
  const tbody = h('tbody', { id: 'links-body' });
  main.append(h('h1', { text: 'Links' }),
    h('table', { class: 'grid', id: 'links-table' },
      h('thead', {}, h('tr', {}, ['Control room', 'Kind', 'Phone', 'CAD link', 'Last heard', 'Backlog', 'Consoles online'].map((c) => h('th', { text: c })))),
      tbody));
  function draw(links) {
    clear(tbody).append(...links.map((l) => {
      const cad = l.cad;
      const link = !cad ? h('span', { class: 'muted', text: 'no CAD link' })
        : cad.up ? h('span', { class: 'up', text: 'UP' })
        : h('span', { class: 'down', text: `DOWN${l.agency !== me() && l.phone ? `: phone ${l.phone}` : ''}` });
      return h('tr', { 'data-agency': l.agency },
        h('td', {}, h('strong', { text: l.name }), l.agency === me() ? ' (us)' : '',
          // No CAD and no console anywhere for the room's configured time: its room is out.
          l.outage ? h('div', { class: 'down room-out', text: `ROOM OUT${l.fallback ? ` · fallback ${l.fallback.name}` : ''}` }) : ''),
        h('td', { text: l.kind }),
        h('td', { class: 'num', text: l.phone || '' }),
        h('td', {}, link),
        h('td', { text: cad?.last_heard ? `${age(cad.last_heard)} ago` : '—' }),
        h('td', { class: 'num', text: cad ? String(cad.backlog ?? 0) : '—' }),
        h('td', { class: 'num consoles', text: l.consoles === undefined ? '—' : String(l.consoles) }));
    }));
  }
  if (app.links.length) draw(app.links);
  api.get('/api/v1/links').then((d) => {
    // Keep the consoles-online counts the live feed gave us; REST does not know them.
    const live = new Map(app.links.map((l) => [l.agency, l.consoles]));
    draw((d.links || []).map((l) => ({ ...l, consoles: l.consoles ?? live.get(l.agency) })));
  }).catch(() => {});
  return { onLinks: draw, tick: () => {} };
}
