/**
 * The source side of DDL capture, as SQL: walferry's schema `walferry` holds `ddl_events` (one row per DDL
 * command on a table, inserted by the event trigger in the command's own transaction, published with the
 * mapped tables so it arrives in stream order with their rows) and `ddl_tables` (the last column list of
 * every table, from which the trigger computes each event's before/after). Every statement is idempotent:
 * install creates what is missing and replaces the functions (so a newer walferry updates them), remove drops
 * everything. walferry's own schema and temporary tables are never recorded.
 */
import { formatTypeSql } from "../lib/Sql.js"

export const CAPTURE_SCHEMA = "walferry"
export const EVENTS_TABLE = "ddl_events"
export const DDL_TRIGGER = "walferry_ddl"
export const DROP_TRIGGER = "walferry_ddl_drop"
/** recorded as the capture function's comment: install is skipped when it is already there */
export const CAPTURE_VERSION = "walferry ddl capture 1"

/** the installed capture's version, null when not (completely) installed */
export const INSTALLED_SQL = `
  select (select d.description from pg_proc p
      join pg_namespace n on n.oid = p.pronamespace and n.nspname = 'walferry'
      join pg_description d on d.objoid = p.oid and d.classoid = 'pg_proc'::regclass
      where p.proname = 'capture_ddl') as version,
    (select count(*)::int from pg_event_trigger where evtname in ('${DDL_TRIGGER}', '${DROP_TRIGGER}')
      and evtenabled <> 'D') as triggers`

/** the tables the trigger records: ordinary and partitioned, permanent, outside system schemas and walferry's */
const RECORDED = `c.relkind in ('r', 'p') and c.relpersistence = 'p'
  and n.nspname not in ('walferry', 'pg_catalog', 'information_schema', 'pg_toast')`

const COLUMNS_FUNCTION = `
create or replace function walferry.ddl_columns(rel oid) returns jsonb
language sql stable set search_path = pg_catalog, pg_temp as $$
  select coalesce(jsonb_agg(jsonb_build_object(
      'n', a.attnum, 'name', a.attname, 'type', ${formatTypeSql("a.atttypid", "a.atttypmod")},
      'oid', a.atttypid, 'mod', a.atttypmod) order by a.attnum), '[]'::jsonb)
  from pg_attribute a
  where a.attrelid = rel and a.attnum > 0 and not a.attisdropped
$$`

const CAPTURE_FUNCTION = `
create or replace function walferry.capture_ddl() returns event_trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  cmd record;
  rel record;
  known boolean;
  old_schema text;
  old_name text;
  old_columns jsonb;
  cols jsonb;
begin
  for cmd in
    select distinct d.objid, d.command_tag from pg_event_trigger_ddl_commands() d
    where d.classid = 'pg_class'::regclass
  loop
    select c.oid, n.nspname::text as schema, c.relname::text as name into rel
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.oid = cmd.objid and ${RECORDED};
    continue when not found;
    select t.schema_name, t.table_name, t.columns into old_schema, old_name, old_columns
    from walferry.ddl_tables t where t.relid = rel.oid;
    known := found;
    cols := walferry.ddl_columns(rel.oid);
    continue when known and old_columns = cols and old_schema = rel.schema and old_name = rel.name;
    insert into walferry.ddl_events (command, schema_name, table_name, new_schema, new_name, statement, before, after)
    values (cmd.command_tag, coalesce(old_schema, rel.schema), coalesce(old_name, rel.name), rel.schema, rel.name,
      current_query(), case when known then old_columns end, cols);
    insert into walferry.ddl_tables (relid, schema_name, table_name, columns)
    values (rel.oid, rel.schema, rel.name, cols)
    on conflict (relid) do update set schema_name = excluded.schema_name, table_name = excluded.table_name,
      columns = excluded.columns;
  end loop;
end
$$`

const DROP_FUNCTION = `
create or replace function walferry.capture_drop() returns event_trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  obj record;
begin
  for obj in
    select d.objid, d.schema_name, d.object_name from pg_event_trigger_dropped_objects() d
    where d.object_type = 'table' and not d.is_temporary and d.schema_name <> 'walferry'
  loop
    insert into walferry.ddl_events (command, schema_name, table_name, new_schema, new_name, statement, before, after)
    select 'DROP TABLE', obj.schema_name, obj.object_name, obj.schema_name, obj.object_name, current_query(),
      (select t.columns from walferry.ddl_tables t where t.relid = obj.objid), null;
    delete from walferry.ddl_tables where relid = obj.objid;
  end loop;
end
$$`

/** run in one transaction; the advisory lock serialises walferry processes installing on the same database */
export const INSTALL_SQL = [
  "select pg_advisory_xact_lock(hashtext('walferry.ddl_capture'))",
  "create schema if not exists walferry",
  `create table if not exists walferry.ddl_events (
    id bigserial primary key,
    command text not null,
    schema_name text not null,
    table_name text not null,
    new_schema text not null,
    new_name text not null,
    statement text,
    before jsonb,
    after jsonb,
    recorded_at timestamptz not null default now()
  )`,
  `create table if not exists walferry.ddl_tables (
    relid oid primary key,
    schema_name text not null,
    table_name text not null,
    columns jsonb not null
  )`,
  COLUMNS_FUNCTION,
  CAPTURE_FUNCTION,
  DROP_FUNCTION,
  // the stream reads events from the WAL, not from the table: rows already written can go
  "delete from walferry.ddl_events where recorded_at < now() - interval '1 day'",
  // a baseline for tables created or altered while the trigger was not installed
  `insert into walferry.ddl_tables (relid, schema_name, table_name, columns)
   select c.oid, n.nspname, c.relname, walferry.ddl_columns(c.oid)
   from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where ${RECORDED}
   on conflict (relid) do update set schema_name = excluded.schema_name, table_name = excluded.table_name,
     columns = excluded.columns`,
  "delete from walferry.ddl_tables t where not exists (select from pg_class c where c.oid = t.relid)",
  `do $$ begin
    if not exists (select from pg_event_trigger where evtname = '${DDL_TRIGGER}') then
      create event trigger ${DDL_TRIGGER} on ddl_command_end
        when tag in ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE')
        execute function walferry.capture_ddl();
    end if;
    if not exists (select from pg_event_trigger where evtname = '${DROP_TRIGGER}') then
      create event trigger ${DROP_TRIGGER} on sql_drop when tag in ('DROP TABLE', 'DROP SCHEMA', 'DROP OWNED')
        execute function walferry.capture_drop();
    end if;
  end $$`,
  `comment on function walferry.capture_ddl() is '${CAPTURE_VERSION}'`
] as const

export const REMOVE_SQL = [
  "select pg_advisory_xact_lock(hashtext('walferry.ddl_capture'))",
  `drop event trigger if exists ${DDL_TRIGGER}`,
  `drop event trigger if exists ${DROP_TRIGGER}`,
  "drop function if exists walferry.capture_ddl(), walferry.capture_drop(), walferry.ddl_columns(oid)",
  "drop table if exists walferry.ddl_events, walferry.ddl_tables"
] as const
