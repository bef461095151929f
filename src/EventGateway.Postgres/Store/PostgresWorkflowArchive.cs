using System.Globalization;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Postgres.Schema;
using EventGateway.Workflows.Store;

namespace EventGateway.Postgres.Store;

/// <summary>
/// The archive in the shared database, with the embedded archive's listing: newest archived first, pages continued by
/// position, labels matched with <see cref="LabelMatcher"/> as rows stream in (only a page is kept).
/// </summary>
public sealed class PostgresWorkflowArchive(PostgresDatabase db) : IWorkflowArchive
{
    private readonly NpgsqlDataSource _source = db.Source;

    public async Task ArchiveAsync(Workflow wf, CancellationToken ct = default)
    {
        if (string.IsNullOrEmpty(wf.Metadata.Uid)) throw new ArgumentException($"workflow {wf.Name} has no uid");
        var body = JsonSerializer.Serialize(wf, Json.Options);
        await using var cmd = Command("""
            INSERT INTO egw_archived_workflows (uid, namespace, name, finished_at, labels, summary, body) VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (uid) DO UPDATE SET finished_at = excluded.finished_at, labels = excluded.labels, summary = excluded.summary, body = excluded.body
            """, wf.Metadata.Uid, wf.NamespaceOrDefault, wf.Name,
            (wf.Status?.FinishedAt ?? wf.Metadata.CreationTimestamp ?? DateTimeOffset.UnixEpoch).ToUnixTimeMilliseconds(),
            JsonSerializer.Serialize(wf.Metadata.Labels ?? [], Json.Options), ArchiveSummary.Of(body), body);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task<bool> ContainsAsync(string uid, CancellationToken ct = default)
    {
        await using var cmd = Command("SELECT 1 FROM egw_archived_workflows WHERE uid = $1", uid);
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is not null;
    }

    public async Task<Workflow?> GetAsync(string uid, CancellationToken ct = default)
    {
        await using var cmd = Command("SELECT body FROM egw_archived_workflows WHERE uid = $1", uid);
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is string body ? Deserialize(body) : null;
    }

    public async Task<Workflow?> FindAsync(string @namespace, string name, CancellationToken ct = default)
    {
        await using var cmd = Command("SELECT summary FROM egw_archived_workflows WHERE namespace = $1 AND name = $2 ORDER BY position DESC LIMIT 1", @namespace, name);
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is string summary ? Deserialize(summary) : null;
    }

    public async Task<ArchivePage> ListAsync(ArchiveQuery query, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1);
        long? after = query.Continue is null ? null
            : long.TryParse(query.Continue, NumberStyles.None, CultureInfo.InvariantCulture, out var c) ? c
            : throw new FormatException($"continue token '{query.Continue}' is not one this server gave");
        var items = new List<Workflow>();
        string? next = null;
        await using var cmd = Command("""
            SELECT position, labels, summary FROM egw_archived_workflows
            WHERE ($1::text IS NULL OR namespace = $1) AND ($2::text IS NULL OR left(name, length($2)) = $2) AND ($3::bigint IS NULL OR position < $3)
            ORDER BY position DESC
            """, Typed(query.Namespace, NpgsqlDbType.Text), Typed(query.NamePrefix, NpgsqlDbType.Text), Typed(after, NpgsqlDbType.Bigint));
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        long last = 0;
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            if (!query.Labels.Matches(JsonSerializer.Deserialize<Dictionary<string, string>>(r.GetString(1), Json.Lenient))) continue;
            if (items.Count == query.Limit)
            {
                next = last.ToString(CultureInfo.InvariantCulture);
                break;
            }
            last = r.GetInt64(0);
            items.Add(Deserialize(r.GetString(2)));
        }
        return new ArchivePage(items, next);
    }

    public async Task<bool> DeleteAsync(string uid, CancellationToken ct = default)
    {
        await using var cmd = Command("DELETE FROM egw_archived_workflows WHERE uid = $1", uid);
        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false) > 0;
    }

    public async Task<int> DeleteFinishedBeforeAsync(DateTimeOffset cutoff, CancellationToken ct = default)
    {
        await using var cmd = Command("DELETE FROM egw_archived_workflows WHERE finished_at < $1", cutoff.ToUnixTimeMilliseconds());
        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static Workflow Deserialize(string json) => JsonSerializer.Deserialize<Workflow>(json, Json.Lenient)!;

    private static NpgsqlParameter Typed(object? value, NpgsqlDbType type) => new() { Value = value ?? DBNull.Value, NpgsqlDbType = type };

    private NpgsqlCommand Command(string sql, params object[] args)
    {
        var cmd = _source.CreateCommand(sql);
        foreach (var a in args) cmd.Parameters.Add(a as NpgsqlParameter ?? new NpgsqlParameter { Value = a });
        return cmd;
    }
}
