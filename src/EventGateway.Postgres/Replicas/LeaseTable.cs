using Npgsql;

namespace EventGateway.Postgres.Replicas;

/// <summary>
/// The statements over egw_leases. Expiry is always computed with the database's clock (now()), so replicas whose
/// clocks disagree still agree on who holds what. Rows are never deleted: a lease's epoch only grows, which is what
/// makes it a fencing token across takeovers.
/// </summary>
internal sealed class LeaseTable(NpgsqlDataSource db)
{
    public const string ReplicaPrefix = "replica/";

    /// <summary>Takes the lease if it is free (never held, expired or released) or already ours; returns the new epoch.</summary>
    public async Task<long?> TryAcquireAsync(string name, string holder, TimeSpan ttl, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            INSERT INTO egw_leases AS l (name, holder, epoch, expires_at) VALUES ($1, $2, 1, now() + $3)
            ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, epoch = l.epoch + 1, expires_at = EXCLUDED.expires_at
            WHERE l.expires_at <= now() OR l.holder = EXCLUDED.holder
            RETURNING epoch
            """);
        cmd.Parameters.AddWithValue(name);
        cmd.Parameters.AddWithValue(holder);
        cmd.Parameters.AddWithValue(ttl);
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is long epoch ? epoch : null;
    }

    /// <summary>Extends the given holds; returns the names still ours (the rest were taken over or had expired).</summary>
    public async Task<HashSet<string>> RenewAsync(IReadOnlyList<(string Name, long Epoch)> held, string holder, TimeSpan ttl, CancellationToken ct)
    {
        var kept = new HashSet<string>(StringComparer.Ordinal);
        if (held.Count == 0) return kept;
        await using var cmd = db.CreateCommand("""
            UPDATE egw_leases AS l SET expires_at = now() + $3
            FROM unnest($1::text[], $2::bigint[]) AS h(name, epoch)
            WHERE l.name = h.name AND l.epoch = h.epoch AND l.holder = $4 AND l.expires_at > now()
            RETURNING l.name
            """);
        cmd.Parameters.AddWithValue(held.Select(h => h.Name).ToArray());
        cmd.Parameters.AddWithValue(held.Select(h => h.Epoch).ToArray());
        cmd.Parameters.AddWithValue(ttl);
        cmd.Parameters.AddWithValue(holder);
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false)) kept.Add(reader.GetString(0));
        return kept;
    }

    /// <summary>Gives the hold back at once (expired now), so another replica need not wait for the TTL.</summary>
    public async Task ReleaseAsync(string name, string holder, long epoch, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("UPDATE egw_leases SET expires_at = now() WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > now()");
        cmd.Parameters.AddWithValue(name);
        cmd.Parameters.AddWithValue(holder);
        cmd.Parameters.AddWithValue(epoch);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Replicas whose membership lease is live (this one included once it has registered).</summary>
    public async Task<int> LiveReplicasAsync(CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("SELECT count(*) FROM egw_leases WHERE name LIKE $1 AND expires_at > now()");
        cmd.Parameters.AddWithValue(ReplicaPrefix + "%");
        return (int)(long)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    /// <summary>Every lease as it stands: for `egw` status output and tests.</summary>
    public async Task<IReadOnlyList<LeaseRow>> ListAsync(CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("SELECT name, holder, epoch, expires_at > now() FROM egw_leases ORDER BY name");
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var rows = new List<LeaseRow>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
            rows.Add(new LeaseRow(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetBoolean(3)));
        return rows;
    }
}

public sealed record LeaseRow(string Name, string Holder, long Epoch, bool Live);
