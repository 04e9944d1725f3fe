-- FerretDB 1.x (PostgreSQL handler) turns an equality filter on a top-level field into
--   _jsonb -> 'field' @> '<value as JSON>'
-- (containment, because a MongoDB equality also matches an array holding the value), but builds
-- each MongoDB index as a btree on the expressions (_jsonb -> 'field'), which cannot serve @>.
-- So every filtered read was a sequential scan. This trigger gives each index FerretDB creates a
-- GIN companion on its first field, which serves exactly that containment test; PostgreSQL then
-- answers `{userId: …}`, `{eventId: …}` and `{_id: …}` with a bitmap index scan. Sorting stays in
-- FerretDB either way (1.x pushes no sort down). Local stack only: production is real MongoDB.
-- Run on every `stack.sh up`; idempotent.
CREATE OR REPLACE FUNCTION stack_containment_index() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  created record;
  first_key text;
  companion text;
BEGIN
  FOR created IN
    SELECT c.objid, i.indrelid::regclass AS tbl, x.relname AS idx, am.amname
      FROM pg_event_trigger_ddl_commands() c
      JOIN pg_index i ON i.indexrelid = c.objid
      JOIN pg_class x ON x.oid = c.objid
      JOIN pg_am am ON am.oid = x.relam
     WHERE c.command_tag = 'CREATE INDEX'
  LOOP
    CONTINUE WHEN created.amname <> 'btree';
    first_key := pg_get_indexdef(created.objid, 1, false);
    -- Only FerretDB's (_jsonb -> 'field'); a dotted field (_jsonb -> 'a' -> 'b') is skipped:
    -- its filter is not pushed down by default.
    CONTINUE WHEN first_key !~ '^\(+_jsonb -> ''[^'']*''::text\)+$';
    companion := left(created.idx, 55) || '_gin';
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING gin (%s jsonb_path_ops)', companion, created.tbl, first_key);
  END LOOP;
END;
$$;

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_event_trigger WHERE evtname = 'stack_containment_index') THEN
    CREATE EVENT TRIGGER stack_containment_index ON ddl_command_end
      WHEN TAG IN ('CREATE INDEX') EXECUTE FUNCTION stack_containment_index();
  END IF;
END;
$$;
