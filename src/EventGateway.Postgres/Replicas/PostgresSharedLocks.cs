using Npgsql;
using EventGateway.Workflows.Synchronization;

namespace EventGateway.Postgres.Replicas;

/// <summary>
/// Mutex and semaphore places in egw_sync_holders. Synchronous on purpose: the lock table decides inside a reconcile
/// pass, under its own lock, and a grant must be final before the pass goes on. Each acquisition is one transaction
/// that takes the locks' advisory locks in key order (so two replicas never deadlock), counts the other holders and
/// inserts all places or none.
/// </summary>
public sealed class PostgresSharedLocks(NpgsqlDataSource db, string replica) : ISharedLocks
{
    public bool TryHold(string holder, IReadOnlyList<(string Key, int Limit)> locks)
    {
        using var c = db.OpenConnection();
        using var tx = c.BeginTransaction();
        foreach (var (key, limit) in locks.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            using (var take = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", c, tx))
            {
                take.Parameters.AddWithValue(key);
                take.ExecuteNonQuery();
            }
            using var count = new NpgsqlCommand("SELECT count(*) FROM egw_sync_holders WHERE lock_key = $1 AND holder <> $2", c, tx);
            count.Parameters.AddWithValue(key);
            count.Parameters.AddWithValue(holder);
            if ((long)count.ExecuteScalar()! >= limit)
            {
                tx.Rollback();
                return false;
            }
            using var insert = new NpgsqlCommand("INSERT INTO egw_sync_holders (lock_key, holder, replica) VALUES ($1, $2, $3) ON CONFLICT (lock_key, holder) DO UPDATE SET replica = EXCLUDED.replica", c, tx);
            insert.Parameters.AddWithValue(key);
            insert.Parameters.AddWithValue(holder);
            insert.Parameters.AddWithValue(replica);
            insert.ExecuteNonQuery();
        }
        tx.Commit();
        return true;
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
        var stale = new List<(string Key, string Holder)>();
        using (var select = db.CreateCommand("SELECT lock_key, holder FROM egw_sync_holders WHERE replica <> $1"))
        {
            select.Parameters.AddWithValue(replica);
            using var r = select.ExecuteReader();
            while (r.Read())
                if (owned(r.GetString(1))) stale.Add((r.GetString(0), r.GetString(1)));
        }
        if (stale.Count == 0) return;
        using var delete = db.CreateCommand("DELETE FROM egw_sync_holders h USING unnest($1::text[], $2::text[]) AS s(lock_key, holder) WHERE h.lock_key = s.lock_key AND h.holder = s.holder AND h.replica <> $3");
        delete.Parameters.AddWithValue(stale.Select(s => s.Key).ToArray());
        delete.Parameters.AddWithValue(stale.Select(s => s.Holder).ToArray());
        delete.Parameters.AddWithValue(replica);
        delete.ExecuteNonQuery();
    }

    public void Release(string holder)
    {
        using var cmd = db.CreateCommand("DELETE FROM egw_sync_holders WHERE holder = $1");
        cmd.Parameters.AddWithValue(holder);
        cmd.ExecuteNonQuery();
    }
}
