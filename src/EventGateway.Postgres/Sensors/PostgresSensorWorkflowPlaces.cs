using Npgsql;
using EventGateway.Events.Sensors;

namespace EventGateway.Postgres.Sensors;

/// <summary>
/// The sensor workflow cap's places in egw_sensor_workflow_places. A take is one batch (one round trip, one implicit
/// transaction) under an advisory lock: count, insert if there is room, answer. Only at the cap does it first drop
/// the places of workflows that completed or were deleted unseen (e.g. by a replica that died before it freed them),
/// and of firings that never bound theirs (their replica died mid-trigger).
/// </summary>
public sealed class PostgresSensorWorkflowPlaces(NpgsqlDataSource db) : ISensorWorkflowPlaces
{
    private const long PlacesLock = 0x65677753656E73; // "egwSens"

    /// <summary>A firing creates its workflow within seconds; one holding a place this long has died with its replica.</summary>
    private static readonly TimeSpan Abandoned = TimeSpan.FromMinutes(5);

    public async Task<(bool Taken, int Held)> TryTakeAsync(string reservation, int max, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(c);
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"SELECT pg_advisory_xact_lock({PlacesLock})"));
        var purge = new NpgsqlBatchCommand("""
            DELETE FROM egw_sensor_workflow_places p
            WHERE (SELECT count(*) FROM egw_sensor_workflow_places) >= $1
              AND ((p.name IS NULL AND p.taken_at < now() - $2)
                OR (p.name IS NOT NULL AND NOT EXISTS (SELECT 1 FROM egw_resources r
                    WHERE r.kind = 'Workflow' AND r.namespace = p.namespace AND r.name = p.name
                      AND coalesce(r.body::jsonb #>> '{status,phase}', '') NOT IN ('Succeeded', 'Failed', 'Error'))))
            """);
        purge.Parameters.AddWithValue((long)max);
        purge.Parameters.AddWithValue(Abandoned);
        batch.BatchCommands.Add(purge);
        var take = new NpgsqlBatchCommand("""
            INSERT INTO egw_sensor_workflow_places (holder) SELECT $1
            WHERE (SELECT count(*) FROM egw_sensor_workflow_places) < $2
            ON CONFLICT (holder) DO NOTHING
            """);
        take.Parameters.AddWithValue(reservation);
        take.Parameters.AddWithValue((long)max);
        batch.BatchCommands.Add(take);
        var answer = new NpgsqlBatchCommand("SELECT EXISTS (SELECT 1 FROM egw_sensor_workflow_places WHERE holder = $1), (SELECT count(*) FROM egw_sensor_workflow_places)::int");
        answer.Parameters.AddWithValue(reservation);
        batch.BatchCommands.Add(answer);
        await using var r = await batch.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (r.FieldCount != 2)
            if (!await r.NextResultAsync(ct).ConfigureAwait(false)) throw new InvalidOperationException("no answer to a sensor workflow place");
        await r.ReadAsync(ct).ConfigureAwait(false);
        return (r.GetBoolean(0), r.GetInt32(1));
    }

    public async Task BindAsync(string? reservation, string @namespace, string name, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            WITH released AS (DELETE FROM egw_sensor_workflow_places WHERE holder = $1)
            INSERT INTO egw_sensor_workflow_places (holder, namespace, name) VALUES ($2, $3, $4) ON CONFLICT (holder) DO NOTHING
            """);
        cmd.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Text, (object?)reservation ?? DBNull.Value);
        cmd.Parameters.AddWithValue($"{@namespace}/{name}");
        cmd.Parameters.AddWithValue(@namespace);
        cmd.Parameters.AddWithValue(name);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task ReleaseAsync(string reservation, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("DELETE FROM egw_sensor_workflow_places WHERE holder = $1");
        cmd.Parameters.AddWithValue(reservation);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public Task FreeAsync(string @namespace, string name, CancellationToken ct) => ReleaseAsync($"{@namespace}/{name}", ct);
}
