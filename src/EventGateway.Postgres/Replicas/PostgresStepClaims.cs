using Npgsql;
using EventGateway.Workflows.Replicas;

namespace EventGateway.Postgres.Replicas;

/// <summary>Step claims in egw_step_claims: the first replica to claim a node keeps it (INSERT ... ON CONFLICT).</summary>
public sealed class PostgresStepClaims(NpgsqlDataSource db) : IStepClaims
{
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
}
