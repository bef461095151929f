using System.Globalization;
using System.Text.Json;
using Npgsql;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Postgres.Schema;
using EventGateway.Workflows.Artifacts;

namespace EventGateway.Postgres.Artifacts;

/// <summary>The artifactGC ledger as a table, so the replica that ends or deletes a workflow finds what another saved.</summary>
public sealed class PostgresArtifactGCLedger(PostgresDatabase db) : IArtifactGCLedger
{
    private readonly NpgsqlDataSource _source = db.Source;

    public void Record(Workflow wf, string nodeId, Artifact saved, string strategy)
    {
        if (!ArtifactGCEntry.IsKept(strategy)) return;
        var entry = JsonSerializer.Serialize(new ArtifactGCEntry(wf.Metadata.Uid ?? "", nodeId, strategy, saved), Json.Options);
        // The same artifact saved again (a retried node) replaces its entry, as the file ledger overwrites its file.
        using var cmd = Command("""
            INSERT INTO egw_artifact_gc (namespace, workflow, node_id, artifact, entry) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (namespace, workflow, node_id, artifact) DO UPDATE SET entry = excluded.entry
            """, wf.NamespaceOrDefault, wf.Name, nodeId, saved.Name, entry);
        cmd.ExecuteNonQuery();
    }

    public IReadOnlyList<(string Id, ArtifactGCEntry Entry)> Entries(string @namespace, string workflow)
    {
        using var cmd = Command("SELECT id, entry FROM egw_artifact_gc WHERE namespace = $1 AND workflow = $2 ORDER BY id", @namespace, workflow);
        using var r = cmd.ExecuteReader();
        var entries = new List<(string, ArtifactGCEntry)>();
        while (r.Read())
            entries.Add((r.GetInt64(0).ToString(CultureInfo.InvariantCulture), JsonSerializer.Deserialize<ArtifactGCEntry>(r.GetString(1), Json.Lenient)!));
        return entries;
    }

    public IEnumerable<(string Namespace, string Workflow)> Workflows()
    {
        using var cmd = Command("SELECT DISTINCT namespace, workflow FROM egw_artifact_gc ORDER BY 1, 2");
        using var r = cmd.ExecuteReader();
        var result = new List<(string, string)>();
        while (r.Read()) result.Add((r.GetString(0), r.GetString(1)));
        return result;
    }

    public void Remove(string id)
    {
        using var cmd = Command("DELETE FROM egw_artifact_gc WHERE id = $1", long.Parse(id, CultureInfo.InvariantCulture));
        cmd.ExecuteNonQuery();
    }

    private NpgsqlCommand Command(string sql, params object[] args)
    {
        var cmd = _source.CreateCommand(sql);
        foreach (var a in args) cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        return cmd;
    }
}
