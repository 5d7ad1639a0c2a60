/**
 * `--statements 1` for bench:oltp: the destination runs pg_stat_statements, and after walferry's live load the
 * benchmark prints the statements walferry's writers ran during it, by total execution time: calls, mean
 * execution and planning time (µs), how often they were planned (a prepared statement on its generic plan is
 * planned a handful of times, not per call). It shows what a batch costs the destination, table by table.
 */
import type pg from "pg"

export const STATEMENT_SETTINGS = {
  shared_preload_libraries: "pg_stat_statements",
  "pg_stat_statements.track": "all",
  "pg_stat_statements.track_planning": "on"
}

/** (in the destination database) starts counting from now */
export const resetStatements = async (dst: pg.Client): Promise<void> => {
  await dst.query("create extension if not exists pg_stat_statements")
  await dst.query("select pg_stat_statements_reset()")
}

/** the top statements of the destination database since the reset, the benchmark's own polling left out */
export const printStatements = async (dst: pg.Client, label: string, top = 8): Promise<void> => {
  const { rows } = await dst.query(
    `select calls, round(total_exec_time::numeric, 1) as total_ms, round(mean_exec_time::numeric * 1000, 1) as mean_us,
            round(mean_plan_time::numeric * 1000, 1) as plan_us, plans,
            left(regexp_replace(query, '\\s+', ' ', 'g'), 90) as statement
       from pg_stat_statements
      where dbid = (select oid from pg_database where datname = current_database())
        and query !~* '^(select count|select \\(select sum|select extract|select pg_stat|select calls|create extension)'
      order by total_exec_time desc
      limit $1`,
    [top]
  )
  console.log(`destination statements during ${label} (pg_stat_statements):`)
  console.table(rows)
}
