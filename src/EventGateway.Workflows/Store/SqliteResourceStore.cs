using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using static EventGateway.Workflows.Store.StoredResources;

namespace EventGateway.Workflows.Store;

/// <summary>
/// The embedded store: one SQLite file in WAL mode. Writes are serialised through one connection;
/// every committed change bumps a global resourceVersion and is announced to watchers.
/// </summary>
public sealed class SqliteResourceStore : IResourceStore, IResourceImporter, IDisposable
{
    private readonly SqliteConnection _db;
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private ImmutableDictionary<string, ImmutableList<Action<ResourceChange>>> _watchers = ImmutableDictionary<string, ImmutableList<Action<ResourceChange>>>.Empty;

    public SqliteResourceStore(string path, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _db.Open();
        Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;");
        Exec("""
            CREATE TABLE IF NOT EXISTS resources(
              kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
              uid TEXT NOT NULL, resource_version INTEGER NOT NULL, body TEXT NOT NULL,
              PRIMARY KEY(kind, namespace, name));
            CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
            INSERT OR IGNORE INTO meta(key, value) VALUES('resourceVersion', 0);
            """);
    }

    public Task<T?> GetAsync<T>(string @namespace, string name, CancellationToken ct = default) where T : Resource
    {
        var kind = KindOf<T>();
        lock (_gate)
        {
            using var cmd = Command("SELECT body FROM resources WHERE kind=$k AND namespace=$ns AND name=$n", ("$k", kind), ("$ns", Ns(kind, @namespace)), ("$n", name));
            return Task.FromResult(cmd.ExecuteScalar() is string body ? Deserialize<T>(body) : null);
        }
    }

    public Task<IReadOnlyList<T>> ListAsync<T>(string? @namespace = null, CancellationToken ct = default) where T : Resource
    {
        var kind = KindOf<T>();
        var list = new List<T>();
        lock (_gate)
        {
            using var cmd = @namespace is null
                ? Command("SELECT body FROM resources WHERE kind=$k ORDER BY namespace, name", ("$k", kind))
                : Command("SELECT body FROM resources WHERE kind=$k AND namespace=$ns ORDER BY name", ("$k", kind), ("$ns", Ns(kind, @namespace)));
            using var r = cmd.ExecuteReader();
            while (r.Read()) list.Add(Deserialize<T>(r.GetString(0)));
        }
        return Task.FromResult<IReadOnlyList<T>>(list);
    }

    public Task<T> CreateAsync<T>(T resource, CancellationToken ct = default) where T : Resource
    {
        ResourceChange change;
        if (string.IsNullOrEmpty(resource.Kind)) resource.Kind = KindOf<T>();
        if (string.IsNullOrEmpty(resource.ApiVersion)) resource.ApiVersion = Resources.Kinds[resource.Kind].ApiVersion;
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            change = Insert(resource, tx);
            tx.Commit();
        }
        Announce([change]);
        return Task.FromResult(resource);
    }

    public Task<T> UpdateAsync<T>(T resource, CancellationToken ct = default) where T : Resource
    {
        var kind = KindOf<T>();
        var ns = Ns(kind, resource.NamespaceOrDefault);
        ResourceChange change;
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            var expected = long.TryParse(resource.Metadata.ResourceVersion, CultureInfo.InvariantCulture, out var v) ? v : -1;
            var rv = NextVersion(tx);
            var previous = resource.Metadata.ResourceVersion;
            resource.Metadata.ResourceVersion = rv.ToString(CultureInfo.InvariantCulture);
            using var cmd = Command("UPDATE resources SET resource_version=$rv, body=$b WHERE kind=$k AND namespace=$ns AND name=$n AND resource_version=$old",
                ("$rv", rv), ("$b", Serialize(resource)), ("$k", kind), ("$ns", ns), ("$n", resource.Name), ("$old", expected));
            cmd.Transaction = tx;
            if (cmd.ExecuteNonQuery() != 1)
            {
                resource.Metadata.ResourceVersion = previous;
                throw new ConflictException($"{kind} {ns}/{resource.Name} was modified or deleted since resourceVersion {previous}; read it again");
            }
            tx.Commit();
            change = new ResourceChange(ChangeType.Modified, kind, ns, resource.Name, rv);
        }
        Announce([change]);
        return Task.FromResult(resource);
    }

    public Task<T> ApplyAsync<T>(T resource, CancellationToken ct = default) where T : Resource
    {
        ResourceChange change;
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            change = Upsert(resource, tx);
            tx.Commit();
        }
        Announce([change]);
        return Task.FromResult(resource);
    }

    public Task<IReadOnlyList<Resource>> ApplyAllAsync(IReadOnlyList<Resource> resources, CancellationToken ct = default)
    {
        var changes = new List<ResourceChange>();
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            foreach (var r in resources)
                changes.Add(r is Workflow && string.IsNullOrEmpty(r.Metadata.Name) ? Insert(r, tx) : Upsert(r, tx));
            tx.Commit();
        }
        Announce(changes);
        return Task.FromResult(resources);
    }

    public Task<bool> DeleteAsync<T>(string @namespace, string name, CancellationToken ct = default) where T : Resource
    {
        var kind = KindOf<T>();
        var ns = Ns(kind, @namespace);
        ResourceChange change;
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            using var cmd = Command("DELETE FROM resources WHERE kind=$k AND namespace=$ns AND name=$n", ("$k", kind), ("$ns", ns), ("$n", name));
            cmd.Transaction = tx;
            if (cmd.ExecuteNonQuery() == 0) return Task.FromResult(false);
            change = new ResourceChange(ChangeType.Deleted, kind, ns, name, NextVersion(tx));
            tx.Commit();
        }
        Announce([change]);
        return Task.FromResult(true);
    }

    public Task ImportAsync(IReadOnlyList<Resource> resources, CancellationToken ct = default)
    {
        var changes = new List<ResourceChange>();
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            foreach (var r in resources)
            {
                var ns = Ns(r.Kind, r.NamespaceOrDefault);
                var rv = NextVersion(tx);
                r.Metadata.ResourceVersion = rv.ToString(CultureInfo.InvariantCulture);
                using var cmd = Command("""
                    INSERT INTO resources(kind, namespace, name, uid, resource_version, body) VALUES($k,$ns,$n,$u,$rv,$b)
                    ON CONFLICT(kind, namespace, name) DO UPDATE SET uid=excluded.uid, resource_version=excluded.resource_version, body=excluded.body
                    """, ("$k", r.Kind), ("$ns", ns), ("$n", r.Name), ("$u", r.Metadata.Uid ?? Guid.NewGuid().ToString()), ("$rv", rv), ("$b", Serialize(r)));
                cmd.Transaction = tx;
                cmd.ExecuteNonQuery();
                changes.Add(new ResourceChange(ChangeType.Modified, r.Kind, ns, r.Name, rv));
            }
            tx.Commit();
        }
        Announce(changes);
        return Task.CompletedTask;
    }

    public IDisposable Watch(string kind, Action<ResourceChange> onChange)
    {
        ImmutableInterlocked.AddOrUpdate(ref _watchers, kind, [onChange], (_, l) => l.Add(onChange));
        return new Unwatch(() => ImmutableInterlocked.AddOrUpdate(ref _watchers, kind, [], (_, l) => l.Remove(onChange)));
    }

    private sealed class Unwatch(Action undo) : IDisposable
    {
        private int _done;
        public void Dispose() { if (Interlocked.Exchange(ref _done, 1) == 0) undo(); }
    }

    private void Announce(IEnumerable<ResourceChange> changes)
    {
        foreach (var c in changes)
            if (_watchers.TryGetValue(c.Kind, out var handlers))
                foreach (var h in handlers) h(c);
    }

    private ResourceChange Insert(Resource resource, SqliteTransaction tx)
    {
        var kind = resource.Kind;
        var ns = Ns(kind, resource.NamespaceOrDefault);
        var generate = string.IsNullOrEmpty(resource.Metadata.Name);
        for (var attempt = 0; ; attempt++)
        {
            if (generate) resource.Metadata.Name = resource.Metadata.GenerateName + RandomSuffix();
            if (!Exists(kind, ns, resource.Name, tx)) break;
            if (!generate || attempt > 8) throw new ConflictException($"{kind} {ns}/{resource.Name} already exists");
        }
        Stamp(resource, ns);
        var rv = NextVersion(tx);
        resource.Metadata.ResourceVersion = rv.ToString(CultureInfo.InvariantCulture);
        using var cmd = Command("INSERT INTO resources(kind, namespace, name, uid, resource_version, body) VALUES($k,$ns,$n,$u,$rv,$b)",
            ("$k", kind), ("$ns", ns), ("$n", resource.Name), ("$u", resource.Metadata.Uid!), ("$rv", rv), ("$b", Serialize(resource)));
        cmd.Transaction = tx;
        cmd.ExecuteNonQuery();
        return new ResourceChange(ChangeType.Added, kind, ns, resource.Name, rv);
    }

    private ResourceChange Upsert(Resource resource, SqliteTransaction tx)
    {
        var kind = resource.Kind;
        var ns = Ns(kind, resource.NamespaceOrDefault);
        using var find = Command("SELECT uid, body FROM resources WHERE kind=$k AND namespace=$ns AND name=$n", ("$k", kind), ("$ns", ns), ("$n", resource.Name));
        find.Transaction = tx;
        using var r = find.ExecuteReader();
        if (!r.Read())
        {
            r.Close();
            return Insert(resource, tx);
        }
        var existing = (Resource)JsonSerializer.Deserialize(r.GetString(1), Resources.Kinds[kind].Type, Json.Lenient)!;
        r.Close();
        resource.Metadata.Uid = existing.Metadata.Uid;
        resource.Metadata.CreationTimestamp = existing.Metadata.CreationTimestamp;
        resource.Metadata.Namespace = ns.Length == 0 ? null : ns;
        resource.Metadata.Generation = (existing.Metadata.Generation ?? 1) + 1;
        KeepStatus(resource, existing);
        var rv = NextVersion(tx);
        resource.Metadata.ResourceVersion = rv.ToString(CultureInfo.InvariantCulture);
        using var cmd = Command("UPDATE resources SET resource_version=$rv, body=$b WHERE kind=$k AND namespace=$ns AND name=$n",
            ("$rv", rv), ("$b", Serialize(resource)), ("$k", kind), ("$ns", ns), ("$n", resource.Name));
        cmd.Transaction = tx;
        cmd.ExecuteNonQuery();
        return new ResourceChange(ChangeType.Modified, kind, ns, resource.Name, rv);
    }

    /// <summary>
    /// Status is a subresource, as in Kubernetes: re-applying a manifest (which carries none) keeps what the
    /// controllers recorded, e.g. a CronWorkflow's last scheduled time and counters across `--manifests` reloads.
    /// </summary>
    private static void KeepStatus(Resource applied, Resource existing)
    {
        switch (applied)
        {
            case CronWorkflow { Status: null } cron: cron.Status = ((CronWorkflow)existing).Status; break;
            case Workflow { Status: null } wf: wf.Status = ((Workflow)existing).Status; break;
        }
    }

    private void Stamp(Resource resource, string ns)
    {
        resource.Metadata.Namespace = ns.Length == 0 ? null : ns;
        resource.Metadata.Uid = Guid.NewGuid().ToString();
        resource.Metadata.CreationTimestamp = TruncateToMillis(_time.GetUtcNow());
        resource.Metadata.Generation = 1;
    }

    private static DateTimeOffset TruncateToMillis(DateTimeOffset t) => new(t.Ticks - t.Ticks % TimeSpan.TicksPerMillisecond, TimeSpan.Zero);

    private bool Exists(string kind, string ns, string name, SqliteTransaction tx)
    {
        using var cmd = Command("SELECT 1 FROM resources WHERE kind=$k AND namespace=$ns AND name=$n", ("$k", kind), ("$ns", ns), ("$n", name));
        cmd.Transaction = tx;
        return cmd.ExecuteScalar() is not null;
    }

    private long NextVersion(SqliteTransaction tx)
    {
        using var cmd = Command("UPDATE meta SET value = value + 1 WHERE key='resourceVersion' RETURNING value");
        cmd.Transaction = tx;
        return (long)cmd.ExecuteScalar()!;
    }

    private SqliteCommand Command(string sql, params (string Name, object Value)[] args)
    {
        var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v);
        return cmd;
    }

    private void Exec(string sql)
    {
        using var cmd = Command(sql);
        cmd.ExecuteNonQuery();
    }

    public void Dispose()
    {
        lock (_gate) _db.Dispose();
    }
}
