using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Workflows.Store;

/// <summary>
/// The archive in its own SQLite file (archive.db next to egw.db): it grows and is pruned on its own schedule,
/// and its writes never wait behind the store's. A row holds the whole workflow and, for listing, its summary.
/// </summary>
public sealed class SqliteWorkflowArchive : IWorkflowArchive, IDisposable
{
    private readonly SqliteConnection _db;
    private readonly Lock _gate = new();

    public SqliteWorkflowArchive(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _db.Open();
        using var init = Command("""
            PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;
            CREATE TABLE IF NOT EXISTS archived_workflows(
              uid TEXT PRIMARY KEY, namespace TEXT NOT NULL, name TEXT NOT NULL,
              finished_at INTEGER NOT NULL, labels TEXT NOT NULL, summary TEXT NOT NULL, body TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS archived_by_name ON archived_workflows(namespace, name);
            CREATE INDEX IF NOT EXISTS archived_by_finish ON archived_workflows(finished_at);
            """);
        init.ExecuteNonQuery();
    }

    public Task ArchiveAsync(Workflow wf, CancellationToken ct = default)
    {
        if (string.IsNullOrEmpty(wf.Metadata.Uid)) throw new ArgumentException($"workflow {wf.Name} has no uid");
        var body = JsonSerializer.Serialize(wf, Json.Options);
        var summary = ArchiveSummary.Of(body);
        lock (_gate)
        {
            // The rowid stays on replace (upsert), so a re-archived run keeps its place in the listing order.
            using var cmd = Command("""
                INSERT INTO archived_workflows(uid, namespace, name, finished_at, labels, summary, body) VALUES($u,$ns,$n,$f,$l,$s,$b)
                ON CONFLICT(uid) DO UPDATE SET finished_at=excluded.finished_at, labels=excluded.labels, summary=excluded.summary, body=excluded.body
                """,
                ("$u", wf.Metadata.Uid), ("$ns", wf.NamespaceOrDefault), ("$n", wf.Name),
                ("$f", (wf.Status?.FinishedAt ?? wf.Metadata.CreationTimestamp ?? DateTimeOffset.UnixEpoch).ToUnixTimeMilliseconds()),
                ("$l", JsonSerializer.Serialize(wf.Metadata.Labels ?? [], Json.Options)), ("$s", summary), ("$b", body));
            cmd.ExecuteNonQuery();
        }
        return Task.CompletedTask;
    }

    public Task<bool> ContainsAsync(string uid, CancellationToken ct = default)
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT 1 FROM archived_workflows WHERE uid=$u", ("$u", uid));
            return Task.FromResult(cmd.ExecuteScalar() is not null);
        }
    }

    public Task<Workflow?> GetAsync(string uid, CancellationToken ct = default)
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT body FROM archived_workflows WHERE uid=$u", ("$u", uid));
            return Task.FromResult(cmd.ExecuteScalar() is string body ? Deserialize(body) : null);
        }
    }

    public Task<Workflow?> FindAsync(string @namespace, string name, CancellationToken ct = default)
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT summary FROM archived_workflows WHERE namespace=$ns AND name=$n ORDER BY rowid DESC LIMIT 1", ("$ns", @namespace), ("$n", name));
            return Task.FromResult(cmd.ExecuteScalar() is string summary ? Deserialize(summary) : null);
        }
    }

    public Task<ArchivePage> ListAsync(ArchiveQuery query, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1);
        long? after = query.Continue is null ? null
            : long.TryParse(query.Continue, NumberStyles.None, CultureInfo.InvariantCulture, out var c) ? c
            : throw new FormatException($"continue token '{query.Continue}' is not one this server gave");
        var items = new List<Workflow>();
        string? next = null;
        lock (_gate)
        {
            // Labels are matched here rather than in SQL: rows are read in order and only a page is kept.
            using var cmd = Command("""
                SELECT rowid, labels, summary FROM archived_workflows
                WHERE ($ns IS NULL OR namespace=$ns) AND ($p IS NULL OR substr(name, 1, length($p))=$p) AND ($after IS NULL OR rowid < $after)
                ORDER BY rowid DESC
                """,
                ("$ns", (object?)query.Namespace ?? DBNull.Value), ("$p", (object?)query.NamePrefix ?? DBNull.Value), ("$after", (object?)after ?? DBNull.Value));
            using var r = cmd.ExecuteReader();
            long last = 0;
            while (r.Read())
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
        }
        return Task.FromResult(new ArchivePage(items, next));
    }

    public Task<bool> DeleteAsync(string uid, CancellationToken ct = default)
    {
        lock (_gate)
        {
            using var cmd = Command("DELETE FROM archived_workflows WHERE uid=$u", ("$u", uid));
            return Task.FromResult(cmd.ExecuteNonQuery() > 0);
        }
    }

    public Task<int> DeleteFinishedBeforeAsync(DateTimeOffset cutoff, CancellationToken ct = default)
    {
        lock (_gate)
        {
            using var cmd = Command("DELETE FROM archived_workflows WHERE finished_at < $c", ("$c", cutoff.ToUnixTimeMilliseconds()));
            return Task.FromResult(cmd.ExecuteNonQuery());
        }
    }

    private static Workflow Deserialize(string json) => JsonSerializer.Deserialize<Workflow>(json, Json.Lenient)!;

    private SqliteCommand Command(string sql, params (string Name, object Value)[] args)
    {
        var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v);
        return cmd;
    }

    public void Dispose()
    {
        lock (_gate) _db.Dispose();
    }
}
