import assert from 'node:assert/strict';
import { test } from 'node:test';
import { paginate, Table, type ListQuery } from '../../../emulators/workos/store.ts';

const rows = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id }));
const query = (changes: Partial<ListQuery>): ListQuery => ({ limit: 10, order: 'desc', before: null, after: null, ...changes });
const ids = (page: { data: { id: string }[] }) => page.data.map((row) => row.id);

test('pages newest first by default and oldest first with order asc', () => {
  assert.deepEqual(paginate(rows, query({ limit: 2 })), { data: [{ id: 'e' }, { id: 'd' }], before: null, after: 'd' });
  assert.deepEqual(paginate(rows, query({ limit: 2, order: 'asc' })), { data: [{ id: 'a' }, { id: 'b' }], before: null, after: 'b' });
  assert.deepEqual(paginate(rows, query({})), { data: [...rows].reverse(), before: null, after: null });
});

test('pages away from an after cursor and back towards the start from a before cursor', () => {
  assert.deepEqual(paginate(rows, query({ limit: 2, after: 'd' })), { data: [{ id: 'c' }, { id: 'b' }], before: 'c', after: 'b' });
  assert.deepEqual(paginate(rows, query({ limit: 2, before: 'b' })), { data: [{ id: 'd' }, { id: 'c' }], before: 'd', after: 'c' });
  assert.deepEqual(paginate(rows, query({ limit: 2, before: 'd' })), { data: [{ id: 'e' }], before: null, after: 'e' });
  assert.deepEqual(paginate(rows, query({ limit: 2, order: 'asc', after: 'd' })), { data: [{ id: 'e' }], before: 'e', after: null });
  assert.deepEqual(paginate(rows, query({ after: 'zzz' })), { data: [], before: null, after: null });
});

test('skips deleted rows while a cursor on a deleted row keeps its place', () => {
  const table = new Table<{ id: string }>();
  for (const row of rows) table.insert({ ...row });
  table.delete('c');
  table.delete('e');
  assert.equal(table.size, 3);
  assert.equal(table.get('c'), undefined);
  assert.deepEqual(ids(table.page(query({}))), ['d', 'b', 'a']);
  assert.deepEqual(table.page(query({ limit: 1, after: 'c' })), { data: [{ id: 'b' }], before: 'b', after: 'b' });
  assert.deepEqual(table.page(query({ limit: 1 })), { data: [{ id: 'd' }], before: null, after: 'd' });
  assert.deepEqual([...table.values()].map((row) => row.id), ['a', 'b', 'd']);
});
