using Npgsql;

namespace EventGateway.Postgres.Replicas;

/// <summary>
/// When the leases live elsewhere (Kubernetes Lease objects, <c>--lease kubernetes</c>), the fence rows fenced writes
/// check (<see cref="Sensors.PostgresSensorStateStore"/>: holder and epoch in egw_leases, read in the write's own
/// transaction) are still kept here: a replica records each hold it gains before any work runs under it. The epoch
/// only moves up, so a stale holder that wakes late cannot record its older hold over a newer one.
/// </summary>
public sealed class PostgresLeaseFences(NpgsqlDataSource db)
{
    /// <summary>
    /// Records <paramref name="holder"/> at <paramref name="epoch"/>; returns the epoch the row holds afterwards: this
    /// one when recorded, a higher one when a newer hold (or an earlier run's PostgreSQL leases) got there first.
    /// </summary>
    public async Task<long> RecordAsync(string name, string holder, long epoch, TimeSpan ttl, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            WITH recorded AS (
                INSERT INTO egw_leases AS l (name, holder, epoch, expires_at) VALUES ($1, $2, $3, now() + $4)
                ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, epoch = EXCLUDED.epoch, expires_at = EXCLUDED.expires_at
                WHERE l.epoch < EXCLUDED.epoch OR (l.epoch = EXCLUDED.epoch AND l.holder = EXCLUDED.holder)
                RETURNING epoch)
            SELECT epoch FROM recorded UNION ALL SELECT epoch FROM egw_leases WHERE name = $1 LIMIT 1
            """);
        cmd.Parameters.AddWithValue(name);
        cmd.Parameters.AddWithValue(holder);
        cmd.Parameters.AddWithValue(epoch);
        cmd.Parameters.AddWithValue(ttl);
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is long now ? now : epoch;
    }
}
