using Npgsql;
using EventGateway.Workflows.Replicas;

namespace EventGateway.Postgres.Replicas;

/// <summary>
/// Step claims in egw_step_claims: the first replica to claim a node keeps it (INSERT ... ON CONFLICT). With a process
/// cap, the claim of a process step also asks for its place under the cap, in the same round trip.
/// </summary>
public sealed class PostgresStepClaims(NpgsqlDataSource db, int? processCap = null) : IStepClaims
{
    /// <summary>Serialises the asks for places (every replica's): the count and the grant are one decision.</summary>
    private const long SlotLock = 0x65677750726F63; // "egwProc"

    /// <summary>An asker that has not asked again for this long is gone (its replica died, its step was dropped): it holds up no one.</summary>
    private static readonly TimeSpan Stale = TimeSpan.FromSeconds(10);

    public int? ProcessCap => processCap;

    public async Task<string> ClaimAsync(string workflowUid, string nodeId, string replica, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            WITH inserted AS (
                INSERT INTO egw_step_claims (workflow_uid, node_id, replica) VALUES ($1, $2, $3)
                ON CONFLICT (workflow_uid, node_id) DO NOTHING RETURNING replica)
            SELECT replica FROM inserted
            UNION ALL SELECT replica FROM egw_step_claims WHERE workflow_uid = $1 AND node_id = $2
            LIMIT 1
            """);
        cmd.Parameters.AddWithValue(workflowUid);
        cmd.Parameters.AddWithValue(nodeId);
        cmd.Parameters.AddWithValue(replica);
        // A claim committed by another replica while this statement ran is not in its snapshot: the next one sees it.
        for (var attempt = 0; ; attempt++)
            if (await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is string first) return first;
            else if (attempt == 3) throw new InvalidOperationException($"step claim of node {nodeId} neither taken nor found");
    }

    public async Task ForgetAsync(string workflowUid, IEnumerable<string> nodeIds, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("DELETE FROM egw_step_claims WHERE workflow_uid = $1 AND node_id = ANY($2)");
        cmd.Parameters.AddWithValue(workflowUid);
        cmd.Parameters.AddWithValue(nodeIds.ToArray());
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task<SlotAnswer> ClaimSlotAsync(string workflowUid, string nodeId, int shard, string replica, CancellationToken ct)
    {
        var cap = processCap ?? throw new InvalidOperationException("no process cap across replicas");
        // One batch: one round trip, one implicit transaction. Each statement's snapshot is taken when it starts, after
        // the advisory lock is ours, so it sees every place granted or given back before.
        await using var c = await db.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(c);
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"SELECT pg_advisory_xact_lock({SlotLock})"));
        // A new claim asks; asking again keeps its place (asked_at). A waiting claim of another replica is taken over
        // with its place (that replica no longer owns the workflow, and the step never started there). A claim another
        // replica holds or held stays its own: the step may have run there.
        var ask = new NpgsqlBatchCommand("""
            INSERT INTO egw_step_claims AS c (workflow_uid, node_id, replica, slot, shard, asked_at, polled_at)
            VALUES ($1, $2, $3, 'waiting', $4, now(), now())
            ON CONFLICT (workflow_uid, node_id) DO UPDATE SET replica = EXCLUDED.replica, shard = EXCLUDED.shard,
                slot = COALESCE(c.slot, 'waiting'), asked_at = COALESCE(c.asked_at, now()), polled_at = now()
            WHERE c.slot = 'waiting' OR c.replica = EXCLUDED.replica
            """);
        ask.Parameters.AddWithValue(workflowUid);
        ask.Parameters.AddWithValue(nodeId);
        ask.Parameters.AddWithValue(replica);
        ask.Parameters.AddWithValue(shard);
        batch.BatchCommands.Add(ask);
        // Granted when the places held plus those of the older askers still asking leave room: first asked, first served.
        var grant = new NpgsqlBatchCommand("""
            UPDATE egw_step_claims AS c SET slot = 'held'
            WHERE c.workflow_uid = $1 AND c.node_id = $2 AND c.replica = $3 AND c.slot = 'waiting'
              AND (SELECT count(*) FROM egw_step_claims WHERE slot = 'held')
                + (SELECT count(*) FROM egw_step_claims w WHERE w.slot = 'waiting' AND w.polled_at > now() - $5
                   AND (w.asked_at, w.workflow_uid, w.node_id) < (c.asked_at, c.workflow_uid, c.node_id)) < $4
            """);
        grant.Parameters.AddWithValue(workflowUid);
        grant.Parameters.AddWithValue(nodeId);
        grant.Parameters.AddWithValue(replica);
        grant.Parameters.AddWithValue((long)cap);
        grant.Parameters.AddWithValue(Stale);
        batch.BatchCommands.Add(grant);
        var answer = new NpgsqlBatchCommand("""
            SELECT c.replica, c.replica = $3 AND c.slot IS NOT DISTINCT FROM 'held',
                   (SELECT count(*) FROM egw_step_claims WHERE slot = 'held')::int
            FROM egw_step_claims c WHERE c.workflow_uid = $1 AND c.node_id = $2
            """);
        answer.Parameters.AddWithValue(workflowUid);
        answer.Parameters.AddWithValue(nodeId);
        answer.Parameters.AddWithValue(replica);
        batch.BatchCommands.Add(answer);
        await using var r = await batch.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (r.FieldCount != 3 || !r.HasRows)
            if (!await r.NextResultAsync(ct).ConfigureAwait(false)) throw new InvalidOperationException($"step claim of node {nodeId} neither taken nor found");
        await r.ReadAsync(ct).ConfigureAwait(false);
        return new SlotAnswer(r.GetString(0), r.GetBoolean(1), r.GetInt32(2));
    }

    public async Task ReleaseSlotAsync(string workflowUid, string nodeId, string replica, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("UPDATE egw_step_claims SET slot = NULL WHERE workflow_uid = $1 AND node_id = $2 AND replica = $3 AND slot IS NOT NULL");
        cmd.Parameters.AddWithValue(workflowUid);
        cmd.Parameters.AddWithValue(nodeId);
        cmd.Parameters.AddWithValue(replica);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task ReleaseOthersAsync(IReadOnlyCollection<int> shards, string replica, CancellationToken ct)
    {
        if (processCap is null || shards.Count == 0) return;
        await using var cmd = db.CreateCommand("UPDATE egw_step_claims SET slot = NULL WHERE slot = 'held' AND replica <> $1 AND shard = ANY($2)");
        cmd.Parameters.AddWithValue(replica);
        cmd.Parameters.AddWithValue(shards.ToArray());
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
