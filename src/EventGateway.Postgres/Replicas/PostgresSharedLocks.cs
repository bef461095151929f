using Npgsql;
using EventGateway.Workflows.Synchronization;

namespace EventGateway.Postgres.Replicas;

/// <summary>
/// Mutex and semaphore places in egw_sync_holders, waiters in egw_sync_waiters. Synchronous on purpose: the lock table
/// decides inside a reconcile pass, under its own lock, and a grant must be final before the pass goes on. Each
/// acquisition is one transaction that takes the locks' advisory locks in key order (so two replicas never deadlock),
/// counts the other holders and the waiters that come first, and inserts all places or none (then it records the
/// holder as a waiter of each).
/// </summary>
public sealed class PostgresSharedLocks(NpgsqlDataSource db, string replica) : ISharedLocks
{
    public (string Key, string Reason)? TryHold(string holder, IReadOnlyList<(string Key, int Limit)> locks, long priority, DateTimeOffset created)
    {
        using var c = db.OpenConnection();
        using var tx = c.BeginTransaction();
        (string Key, string Reason)? refused = null;
        foreach (var (key, limit) in locks.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            using (var take = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", c, tx))
            {
                take.Parameters.AddWithValue(key);
                take.ExecuteNonQuery();
            }
            if (refused is not null) continue; // every lock stays taken to the commit, which records the waits
            // The same order as each replica's queue: higher priority first, then the older workflow, then the holder.
            using var count = new NpgsqlCommand("""
                SELECT (SELECT count(*) FROM egw_sync_holders WHERE lock_key = $1 AND holder <> $2),
                       (SELECT count(*) FROM egw_sync_waiters WHERE lock_key = $1 AND holder <> $2
                           AND (priority > $3 OR (priority = $3 AND (created < $4 OR (created = $4 AND holder COLLATE "C" < $2 COLLATE "C")))))
                """, c, tx);
            count.Parameters.AddWithValue(key);
            count.Parameters.AddWithValue(holder);
            count.Parameters.AddWithValue(priority);
            count.Parameters.AddWithValue(created.ToUniversalTime());
            using (var r = count.ExecuteReader())
            {
                r.Read();
                var (held, ahead) = (r.GetInt64(0), r.GetInt64(1));
                if (held >= limit) refused = (key, $"held by workflows of other replicas up to its limit of {limit}");
                else if (held + ahead >= limit) refused = (key, $"{held} of its {limit} held, and {ahead} waiting before it on other replicas (priority, then age)");
            }
        }
        if (refused is not null) Wait(c, tx, holder, locks.Select(l => l.Key), priority, created);
        else
            foreach (var (key, _) in locks)
            {
                using var insert = new NpgsqlCommand("""
                    WITH granted AS (DELETE FROM egw_sync_waiters WHERE lock_key = $1 AND holder = $2)
                    INSERT INTO egw_sync_holders (lock_key, holder, replica) VALUES ($1, $2, $3) ON CONFLICT (lock_key, holder) DO UPDATE SET replica = EXCLUDED.replica
                    """, c, tx);
                insert.Parameters.AddWithValue(key);
                insert.Parameters.AddWithValue(holder);
                insert.Parameters.AddWithValue(replica);
                insert.ExecuteNonQuery();
            }
        tx.Commit();
        return refused;
    }

    public void Wait(string holder, IReadOnlyList<string> keys, long priority, DateTimeOffset created)
    {
        using var c = db.OpenConnection();
        Wait(c, null, holder, keys, priority, created);
    }

    private void Wait(NpgsqlConnection c, NpgsqlTransaction? tx, string holder, IEnumerable<string> keys, long priority, DateTimeOffset created)
    {
        using var cmd = new NpgsqlCommand("""
            INSERT INTO egw_sync_waiters (lock_key, holder, replica, priority, created) SELECT k, $2, $3, $4, $5 FROM unnest($1::text[]) AS k
            ON CONFLICT (lock_key, holder) DO UPDATE SET replica = EXCLUDED.replica, priority = EXCLUDED.priority, created = EXCLUDED.created
            """, c, tx);
        cmd.Parameters.AddWithValue(keys.ToArray());
        cmd.Parameters.AddWithValue(holder);
        cmd.Parameters.AddWithValue(replica);
        cmd.Parameters.AddWithValue(priority);
        cmd.Parameters.AddWithValue(created.ToUniversalTime());
        cmd.ExecuteNonQuery();
    }

    public void Restore(string holder, string key)
    {
        using var cmd = db.CreateCommand("INSERT INTO egw_sync_holders (lock_key, holder, replica) VALUES ($1, $2, $3) ON CONFLICT (lock_key, holder) DO UPDATE SET replica = EXCLUDED.replica");
        cmd.Parameters.AddWithValue(key);
        cmd.Parameters.AddWithValue(holder);
        cmd.Parameters.AddWithValue(replica);
        cmd.ExecuteNonQuery();
    }

    public void ForgetOthers(Func<string, bool> owned)
    {
        foreach (var table in new[] { "egw_sync_holders", "egw_sync_waiters" })
        {
            var stale = new List<(string Key, string Holder)>();
            using (var select = db.CreateCommand($"SELECT lock_key, holder FROM {table} WHERE replica <> $1"))
            {
                select.Parameters.AddWithValue(replica);
                using var r = select.ExecuteReader();
                while (r.Read())
                    if (owned(r.GetString(1))) stale.Add((r.GetString(0), r.GetString(1)));
            }
            if (stale.Count == 0) continue;
            using var delete = db.CreateCommand($"DELETE FROM {table} h USING unnest($1::text[], $2::text[]) AS s(lock_key, holder) WHERE h.lock_key = s.lock_key AND h.holder = s.holder AND h.replica <> $3");
            delete.Parameters.AddWithValue(stale.Select(s => s.Key).ToArray());
            delete.Parameters.AddWithValue(stale.Select(s => s.Holder).ToArray());
            delete.Parameters.AddWithValue(replica);
            delete.ExecuteNonQuery();
        }
    }

    public void Release(string holder)
    {
        using var cmd = db.CreateCommand("WITH held AS (DELETE FROM egw_sync_holders WHERE holder = $1) DELETE FROM egw_sync_waiters WHERE holder = $1");
        cmd.Parameters.AddWithValue(holder);
        cmd.ExecuteNonQuery();
    }
}
