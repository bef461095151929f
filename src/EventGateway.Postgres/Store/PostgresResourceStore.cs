using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Postgres.Schema;
using EventGateway.Workflows.Store;
using static EventGateway.Workflows.Store.StoredResources;

namespace EventGateway.Postgres.Store;

/// <summary>
/// The shared store: the embedded store's semantics (see <see cref="SqliteResourceStore"/>) in PostgreSQL, for several
/// replicas. A write locks the version counter row for its transaction (gapless versions, commits in version order),
/// records each change in egw_resource_changes and NOTIFYs it in the same transaction. Watch sees this instance's
/// changes at once, on the writer's call, as the embedded store does (concurrent writes of one instance share a commit); other replicas' changes arrive by LISTEN, and
/// after a lost connection the feed is read again from the last version seen, so nothing is missed.
/// </summary>
public sealed partial class PostgresResourceStore : IResourceStore, IResourceImporter, IAsyncDisposable, IDisposable
{
    internal const string Channel = "egw_resources";

    /// <summary>How long the change feed keeps changes for watchers that were away; a longer absence relists.</summary>
    public static readonly TimeSpan ChangeRetention = TimeSpan.FromHours(1);

    private static readonly TimeSpan ReconnectDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxReconnectDelay = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan PruneInterval = TimeSpan.FromMinutes(5);

    private readonly NpgsqlDataSource _source;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    /// <summary>Marks this instance's changes in the feed, so its listener skips what the writer already announced.</summary>
    private readonly string _origin = Guid.NewGuid().ToString("N");
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<ResourceChangeNotice> _notices = System.Threading.Channels.Channel.CreateUnbounded<ResourceChangeNotice>(new() { SingleReader = true });
    private readonly TaskCompletionSource _firstListen = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ImmutableDictionary<string, ImmutableList<Action<ResourceChange>>> _watchers = ImmutableDictionary<string, ImmutableList<Action<ResourceChange>>>.Empty;
    private Task _listener = Task.CompletedTask;
    private readonly Channel<PendingWrite> _writes = System.Threading.Channels.Channel.CreateUnbounded<PendingWrite>(new() { SingleReader = true });
    private Task _writer = Task.CompletedTask;
    private long _lastSeen;
    private int _listening;
    private int _listenerPid;
    private long _connects;
    private DateTimeOffset _lastPrune;

    private PostgresResourceStore(NpgsqlDataSource source, TimeProvider time, ILogger log)
    {
        _source = source;
        _time = time;
        _log = log;
        _lastPrune = time.GetUtcNow();
    }

    /// <summary>Opens the store and starts listening: every change committed after this returns reaches Watch.</summary>
    public static async Task<PostgresResourceStore> OpenAsync(PostgresDatabase db, TimeProvider? time = null, ILogger? log = null, CancellationToken ct = default)
    {
        var store = new PostgresResourceStore(db.Source, time ?? TimeProvider.System, log ?? NullLogger.Instance);
        store._listener = Task.Run(store.ListenAsync, CancellationToken.None);
        store._writer = Task.Run(store.WriteLoopAsync, CancellationToken.None);
        await store._firstListen.Task.WaitAsync(ct).ConfigureAwait(false);
        return store;
    }

    /// <summary>True while the listening connection is up (for tests and readiness).</summary>
    internal bool Listening => Volatile.Read(ref _listening) == 1;

    /// <summary>The backend process of the listening connection (tests end it to simulate a lost connection).</summary>
    internal int ListenerProcessId => Volatile.Read(ref _listenerPid);

    /// <summary>How many times the listening connection was opened.</summary>
    internal long Connects => Interlocked.Read(ref _connects);

    public async Task<T?> GetAsync<T>(string @namespace, string name, CancellationToken ct = default) where T : Resource
    {
        var kind = KindOf<T>();
        await using var cmd = _source.CreateCommand("SELECT body FROM egw_resources WHERE kind=$1 AND namespace=$2 AND name=$3");
        cmd.Parameters.Add(new() { Value = kind });
        cmd.Parameters.Add(new() { Value = Ns(kind, @namespace) });
        cmd.Parameters.Add(new() { Value = name });
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is string body ? Deserialize<T>(body) : null;
    }

    public async Task<IReadOnlyList<T>> ListAsync<T>(string? @namespace = null, CancellationToken ct = default) where T : Resource
    {
        var kind = KindOf<T>();
        // COLLATE "C": the embedded store's order (bytewise), whatever the database's collation.
        await using var cmd = @namespace is null
            ? _source.CreateCommand("SELECT body FROM egw_resources WHERE kind=$1 ORDER BY namespace COLLATE \"C\", name COLLATE \"C\"")
            : _source.CreateCommand("SELECT body FROM egw_resources WHERE kind=$1 AND namespace=$2 ORDER BY name COLLATE \"C\"");
        cmd.Parameters.Add(new() { Value = kind });
        if (@namespace is not null) cmd.Parameters.Add(new() { Value = Ns(kind, @namespace) });
        var list = new List<T>();
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false)) list.Add(Deserialize<T>(r.GetString(0)));
        return list;
    }

    public async Task<T> CreateAsync<T>(T resource, CancellationToken ct = default) where T : Resource
    {
        if (string.IsNullOrEmpty(resource.Kind)) resource.Kind = KindOf<T>();
        if (string.IsNullOrEmpty(resource.ApiVersion)) resource.ApiVersion = Resources.Kinds[resource.Kind].ApiVersion;
        var snapshot = Snapshot(resource);
        await WriteAsync(async w => [await w.InsertAsync(resource).ConfigureAwait(false)], ct, () => Restore(resource, snapshot)).ConfigureAwait(false);
        return resource;
    }

    public async Task<T> UpdateAsync<T>(T resource, CancellationToken ct = default) where T : Resource
    {
        var kind = KindOf<T>();
        var ns = Ns(kind, resource.NamespaceOrDefault);
        var previous = resource.Metadata.ResourceVersion;
        await WriteAsync(async w =>
            {
                var expected = long.TryParse(previous, CultureInfo.InvariantCulture, out var v) ? v : -1;
                var rv = w.NextVersion();
                resource.Metadata.ResourceVersion = rv.ToString(CultureInfo.InvariantCulture);
                var updated = await w.ExecuteAsync("UPDATE egw_resources SET resource_version=$1, body=$2 WHERE kind=$3 AND namespace=$4 AND name=$5 AND resource_version=$6",
                    rv, Serialize(resource), kind, ns, resource.Name, expected).ConfigureAwait(false);
                if (updated != 1)
                    throw new ConflictException($"{kind} {ns}/{resource.Name} was modified or deleted since resourceVersion {previous}; read it again");
                return [new ResourceChange(ChangeType.Modified, kind, ns, resource.Name, rv)];
            }, ct, () => resource.Metadata.ResourceVersion = previous).ConfigureAwait(false);
        return resource;
    }

    public async Task<T> ApplyAsync<T>(T resource, CancellationToken ct = default) where T : Resource
    {
        await WriteAsync(async w => [await w.UpsertAsync(resource).ConfigureAwait(false)], ct).ConfigureAwait(false);
        return resource;
    }

    public async Task<IReadOnlyList<Resource>> ApplyAllAsync(IReadOnlyList<Resource> resources, CancellationToken ct = default)
    {
        await WriteAsync(async w =>
        {
            var changes = new List<ResourceChange>();
            foreach (var r in resources)
                changes.Add(r is Workflow && string.IsNullOrEmpty(r.Metadata.Name) ? await w.InsertAsync(r).ConfigureAwait(false) : await w.UpsertAsync(r).ConfigureAwait(false));
            return changes;
        }, ct).ConfigureAwait(false);
        return resources;
    }

    public async Task<bool> DeleteAsync<T>(string @namespace, string name, CancellationToken ct = default) where T : Resource
    {
        var kind = KindOf<T>();
        var ns = Ns(kind, @namespace);
        var changes = await WriteAsync(async w =>
        {
            if (await w.ExecuteAsync("DELETE FROM egw_resources WHERE kind=$1 AND namespace=$2 AND name=$3", kind, ns, name).ConfigureAwait(false) == 0)
                return [];
            return [new ResourceChange(ChangeType.Deleted, kind, ns, name, w.NextVersion())];
        }, ct).ConfigureAwait(false);
        return changes.Count > 0;
    }

    public Task ImportAsync(IReadOnlyList<Resource> resources, CancellationToken ct = default) =>
        WriteAsync(async w =>
        {
            var changes = new List<ResourceChange>();
            foreach (var r in resources)
            {
                var ns = Ns(r.Kind, r.NamespaceOrDefault);
                var rv = w.NextVersion();
                r.Metadata.ResourceVersion = rv.ToString(CultureInfo.InvariantCulture);
                await w.ExecuteAsync("""
                    INSERT INTO egw_resources(kind, namespace, name, uid, resource_version, body) VALUES($1,$2,$3,$4,$5,$6)
                    ON CONFLICT(kind, namespace, name) DO UPDATE SET uid=excluded.uid, resource_version=excluded.resource_version, body=excluded.body
                    """, r.Kind, ns, r.Name, r.Metadata.Uid ?? Guid.NewGuid().ToString(), rv, Serialize(r)).ConfigureAwait(false);
                changes.Add(new ResourceChange(ChangeType.Modified, r.Kind, ns, r.Name, rv));
            }
            return changes;
        }, ct);

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

    // ---- writing ----

    /// <summary>Most writes of this process committed together (one WAL flush, one hold of the version counter).</summary>
    private const int MaxWritesPerCommit = 64;

    private sealed record PendingWrite(Func<Writer, Task<IReadOnlyList<ResourceChange>>> Body, TaskCompletionSource<IReadOnlyList<ResourceChange>> Done, CancellationToken Ct);

    /// <summary>
    /// Hands <paramref name="body"/> to the write loop and, once its transaction committed, announces its changes to this
    /// instance's watchers on the caller's call (a watcher's exception surfaces after the commit, as in the embedded store).
    /// <paramref name="undo"/> puts the caller's object back when nothing was committed.
    /// </summary>
    private async Task<IReadOnlyList<ResourceChange>> WriteAsync(Func<Writer, Task<IReadOnlyList<ResourceChange>>> body, CancellationToken ct, Action? undo = null)
    {
        IReadOnlyList<ResourceChange> changes;
        try
        {
            ct.ThrowIfCancellationRequested();
            var pending = new PendingWrite(body, new(TaskCreationOptions.RunContinuationsAsynchronously), ct);
            if (!_writes.Writer.TryWrite(pending)) throw new ObjectDisposedException(nameof(PostgresResourceStore));
            // Not cancelled once queued: whether it committed would be unknown to the caller.
            changes = await pending.Done.Task.ConfigureAwait(false);
        }
        catch
        {
            // A failed commit may still have committed (connection lost after COMMIT was sent); the caller re-reads either way.
            undo?.Invoke();
            throw;
        }
        Announce(changes);
        return changes;
    }

    /// <summary>
    /// The one writer of this instance: takes the writes waiting and commits them in one transaction. The version counter
    /// row is locked for the transaction, so commits across replicas come in version order; each write runs under a
    /// savepoint, so one refused write (a conflict, an object that cannot be serialised) gives back its versions and
    /// leaves the others. A lost connection or failed commit fails every write of the batch.
    /// </summary>
    private async Task WriteLoopAsync()
    {
        var batch = new List<PendingWrite>(MaxWritesPerCommit);
        while (await _writes.Reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < MaxWritesPerCommit && _writes.Reader.TryRead(out var w))
                if (w.Ct.IsCancellationRequested) w.Done.TrySetCanceled(w.Ct);
                else batch.Add(w);
            if (batch.Count > 0) await CommitAsync(batch).ConfigureAwait(false);
        }
    }

    private async Task CommitAsync(List<PendingWrite> batch)
    {
        var results = new IReadOnlyList<ResourceChange>?[batch.Count];
        var failures = new Exception?[batch.Count];
        try
        {
            await using var conn = await _source.OpenConnectionAsync().ConfigureAwait(false);
            await using var tx = await conn.BeginTransactionAsync().ConfigureAwait(false);
            var writer = new Writer(this, conn, tx, CancellationToken.None);
            await using (var lockCounter = new NpgsqlCommand("SELECT value FROM egw_resource_version WHERE id=1 FOR UPDATE", conn, tx))
                writer.Version = (long)(await lockCounter.ExecuteScalarAsync().ConfigureAwait(false))!;
            var all = new List<ResourceChange>();
            var savepoints = batch.Count > 1; // alone, a failed write rolls the whole transaction back instead
            for (var i = 0; i < batch.Count; i++)
            {
                var before = writer.Version;
                if (savepoints) await tx.SaveAsync("w").ConfigureAwait(false);
                try
                {
                    results[i] = await batch[i].Body(writer).ConfigureAwait(false);
                    all.AddRange(results[i]!);
                    if (savepoints) await tx.ReleaseAsync("w").ConfigureAwait(false);
                }
                catch (Exception e) when (e is not NpgsqlException || e is PostgresException)
                {
                    failures[i] = e;
                    writer.Version = before;
                    if (!savepoints) break;
                    await tx.RollbackAsync("w").ConfigureAwait(false);
                }
            }
            if (all.Count > 0)
            {
                await writer.RecordAsync(all).ConfigureAwait(false);
                await writer.ExecuteAsync("UPDATE egw_resource_version SET value=$1 WHERE id=1", writer.Version).ConfigureAwait(false);
                await tx.CommitAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            for (var i = 0; i < batch.Count; i++) failures[i] ??= e;
        }
        for (var i = 0; i < batch.Count; i++)
            if (failures[i] is { } f) batch[i].Done.TrySetException(f);
            else batch[i].Done.TrySetResult(results[i]!);
    }

    /// <summary>The state of one write transaction: its connection and the versions it hands out.</summary>
    private sealed class Writer(PostgresResourceStore store, NpgsqlConnection conn, NpgsqlTransaction tx, CancellationToken ct)
    {
        public long Version { get; set; }

        public long NextVersion() => ++Version;

        public async Task<int> ExecuteAsync(string sql, params object[] args)
        {
            await using var cmd = new NpgsqlCommand(sql, conn, tx);
            foreach (var a in args) cmd.Parameters.Add(new() { Value = a });
            return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        private async Task<object?> ScalarAsync(string sql, params object[] args)
        {
            await using var cmd = new NpgsqlCommand(sql, conn, tx);
            foreach (var a in args) cmd.Parameters.Add(new() { Value = a });
            return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
        }

        public async Task RecordAsync(IReadOnlyList<ResourceChange> changes)
        {
            await using var batch = new NpgsqlBatch(conn, tx);
            foreach (var c in changes)
            {
                var insert = new NpgsqlBatchCommand("INSERT INTO egw_resource_changes(resource_version, type, kind, namespace, name, origin) VALUES($1,$2,$3,$4,$5,$6)");
                foreach (var v in new object[] { c.ResourceVersion, c.Type.ToString(), c.Kind, c.Namespace, c.Name, store._origin }) insert.Parameters.Add(new() { Value = v });
                batch.BatchCommands.Add(insert);
                // Delivered to listeners at commit, in commit order; a rollback sends nothing.
                var notify = new NpgsqlBatchCommand("SELECT pg_notify($1, $2)");
                notify.Parameters.Add(new() { Value = Channel });
                notify.Parameters.Add(new() { Value = ResourceChangeNotice.Format(c, store._origin) });
                batch.BatchCommands.Add(notify);
            }
            await batch.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        public async Task<ResourceChange> InsertAsync(Resource resource)
        {
            var kind = resource.Kind;
            var ns = Ns(kind, resource.NamespaceOrDefault);
            var generate = string.IsNullOrEmpty(resource.Metadata.Name);
            for (var attempt = 0; ; attempt++)
            {
                if (generate) resource.Metadata.Name = resource.Metadata.GenerateName + RandomSuffix();
                // The counter lock serialises writers, so no other replica can insert this name before we commit.
                if (await ScalarAsync("SELECT 1 FROM egw_resources WHERE kind=$1 AND namespace=$2 AND name=$3", kind, ns, resource.Name).ConfigureAwait(false) is null) break;
                if (!generate || attempt > 8) throw new ConflictException($"{kind} {ns}/{resource.Name} already exists");
            }
            store.Stamp(resource, ns);
            var rv = NextVersion();
            resource.Metadata.ResourceVersion = rv.ToString(CultureInfo.InvariantCulture);
            await ExecuteAsync("INSERT INTO egw_resources(kind, namespace, name, uid, resource_version, body) VALUES($1,$2,$3,$4,$5,$6)",
                kind, ns, resource.Name, resource.Metadata.Uid!, rv, Serialize(resource)).ConfigureAwait(false);
            return new ResourceChange(ChangeType.Added, kind, ns, resource.Name, rv);
        }

        public async Task<ResourceChange> UpsertAsync(Resource resource)
        {
            var kind = resource.Kind;
            var ns = Ns(kind, resource.NamespaceOrDefault);
            if (await ScalarAsync("SELECT body FROM egw_resources WHERE kind=$1 AND namespace=$2 AND name=$3", kind, ns, resource.Name).ConfigureAwait(false) is not string body)
                return await InsertAsync(resource).ConfigureAwait(false);
            var existing = (Resource)JsonSerializer.Deserialize(body, Resources.Kinds[kind].Type, Json.Lenient)!;
            resource.Metadata.Uid = existing.Metadata.Uid;
            resource.Metadata.CreationTimestamp = existing.Metadata.CreationTimestamp;
            resource.Metadata.Namespace = ns.Length == 0 ? null : ns;
            resource.Metadata.Generation = (existing.Metadata.Generation ?? 1) + 1;
            KeepStatus(resource, existing);
            var rv = NextVersion();
            resource.Metadata.ResourceVersion = rv.ToString(CultureInfo.InvariantCulture);
            await ExecuteAsync("UPDATE egw_resources SET resource_version=$1, body=$2 WHERE kind=$3 AND namespace=$4 AND name=$5",
                rv, Serialize(resource), kind, ns, resource.Name).ConfigureAwait(false);
            return new ResourceChange(ChangeType.Modified, kind, ns, resource.Name, rv);
        }
    }

    /// <summary>Status is a subresource: re-applying a manifest keeps what the controllers recorded (as the embedded store).</summary>
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
        var t = _time.GetUtcNow();
        resource.Metadata.CreationTimestamp = new DateTimeOffset(t.Ticks - t.Ticks % TimeSpan.TicksPerMillisecond, TimeSpan.Zero);
        resource.Metadata.Generation = 1;
    }

    private static (string? Name, string? Namespace, string? Uid, string? Rv, DateTimeOffset? Created, long? Generation) Snapshot(Resource r) =>
        (r.Metadata.Name, r.Metadata.Namespace, r.Metadata.Uid, r.Metadata.ResourceVersion, r.Metadata.CreationTimestamp, r.Metadata.Generation);

    /// <summary>A refused create leaves the caller's object as it was (the embedded store stamps only on success).</summary>
    private static void Restore(Resource r, (string? Name, string? Namespace, string? Uid, string? Rv, DateTimeOffset? Created, long? Generation) s) =>
        (r.Metadata.Name, r.Metadata.Namespace, r.Metadata.Uid, r.Metadata.ResourceVersion, r.Metadata.CreationTimestamp, r.Metadata.Generation) = s;

    // ---- listening ----

    /// <summary>
    /// Keeps one connection LISTENing. Notices are queued by the connection and handled here in order; after each
    /// (re)connect the feed table is read from the last version seen, so changes committed while away are delivered too.
    /// </summary>
    private async Task ListenAsync()
    {
        var ct = _stop.Token;
        var delay = ReconnectDelay;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var builder = new NpgsqlConnectionStringBuilder(_source.ConnectionString) { KeepAlive = 15, ApplicationName = "egw-watch", Pooling = false };
                await using var conn = new NpgsqlConnection(builder.ConnectionString);
                conn.Notification += (_, e) => _notices.Writer.TryWrite(ResourceChangeNotice.Parse(e.Payload));
                await conn.OpenAsync(ct).ConfigureAwait(false);
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", conn))
                    await listen.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                Volatile.Write(ref _listenerPid, conn.ProcessID);
                Interlocked.Increment(ref _connects);
                if (!_firstListen.Task.IsCompleted)
                {
                    // The baseline: changes up to here are the caller's to read; later ones are announced.
                    await using var current = new NpgsqlCommand("SELECT value FROM egw_resource_version WHERE id=1", conn);
                    _lastSeen = (long)(await current.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
                    _firstListen.TrySetResult();
                }
                else
                {
                    await CatchUpAsync(conn, ct).ConfigureAwait(false);
                }
                Volatile.Write(ref _listening, 1);
                delay = ReconnectDelay;
                while (!ct.IsCancellationRequested)
                {
                    DeliverQueued();
                    await PruneIfDueAsync(conn, ct).ConfigureAwait(false);
                    await conn.WaitAsync(TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                Volatile.Write(ref _listening, 0);
                LogListenFailed(_log, e, delay.TotalSeconds);
                if (!_firstListen.Task.IsCompleted)
                {
                    // At start the caller learns it: a store that cannot watch is not started half-way.
                    _firstListen.TrySetException(new InvalidOperationException($"the store cannot listen for changes: {e.Message}", e));
                    return;
                }
                try { await Task.Delay(delay, _time, ct).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxReconnectDelay.Ticks));
            }
        }
        Volatile.Write(ref _listening, 0);
    }

    private async Task CatchUpAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT resource_version, type, kind, namespace, name, origin FROM egw_resource_changes WHERE resource_version > $1 ORDER BY resource_version", conn);
        cmd.Parameters.Add(new() { Value = _lastSeen });
        var missed = new List<ResourceChangeNotice>();
        await using (var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
            while (await r.ReadAsync(ct).ConfigureAwait(false))
                missed.Add(new(new ResourceChange(Enum.Parse<ChangeType>(r.GetString(1)), r.GetString(2), r.GetString(3), r.GetString(4), r.GetInt64(0)), r.GetString(5)));
        if (missed.Count > 0 && missed[0].Change.ResourceVersion != _lastSeen + 1 || missed.Count == 0 && await CurrentVersionAsync(conn, ct).ConfigureAwait(false) > _lastSeen)
        {
            // Away longer than the feed is kept: announce every object as modified (deletions in the gap are lost).
            LogFeedGap(_log, _lastSeen);
            await RelistAsync(conn, ct).ConfigureAwait(false);
            return;
        }
        foreach (var n in missed) Deliver(n);
    }

    private async Task RelistAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        var current = await CurrentVersionAsync(conn, ct).ConfigureAwait(false);
        await using var cmd = new NpgsqlCommand("SELECT kind, namespace, name, resource_version FROM egw_resources WHERE resource_version > $1 ORDER BY resource_version", conn);
        cmd.Parameters.Add(new() { Value = _lastSeen });
        var changed = new List<ResourceChange>();
        await using (var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
            while (await r.ReadAsync(ct).ConfigureAwait(false))
                changed.Add(new ResourceChange(ChangeType.Modified, r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3)));
        foreach (var c in changed) Deliver(new ResourceChangeNotice(c, ""));
        _lastSeen = Math.Max(_lastSeen, current);
    }

    private static async Task<long> CurrentVersionAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT value FROM egw_resource_version WHERE id=1", conn);
        return (long)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    private void DeliverQueued()
    {
        while (_notices.Reader.TryRead(out var n)) Deliver(n);
    }

    /// <summary>Announces another instance's change once: versions at or below the last seen were delivered already.</summary>
    private void Deliver(ResourceChangeNotice n)
    {
        if (n.Change.ResourceVersion <= _lastSeen) return;
        _lastSeen = n.Change.ResourceVersion;
        if (n.Origin == _origin) return; // announced by the writer's own call
        try
        {
            Announce([n.Change]);
        }
        catch (Exception e)
        {
            LogWatcherFailed(_log, e, n.Change.Kind, n.Change.Namespace, n.Change.Name);
        }
    }

    private async Task PruneIfDueAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        if (now - _lastPrune < PruneInterval) return;
        _lastPrune = now;
        // The database's clock, which stamped the rows.
        await using var cmd = new NpgsqlCommand("DELETE FROM egw_resource_changes WHERE changed_at < now() - $1::interval", conn);
        cmd.Parameters.Add(new() { Value = ChangeRetention });
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening for other replicas' changes failed; reconnecting in {Seconds} s")]
    private static partial void LogListenFailed(ILogger log, Exception e, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The change feed no longer holds every change after resourceVersion {Version}: announcing every object changed since as modified (deletions meanwhile are not announced)")]
    private static partial void LogFeedGap(ILogger log, long version);

    [LoggerMessage(Level = LogLevel.Error, Message = "A watcher failed on another replica's change of {Kind} {Namespace}/{Name}")]
    private static partial void LogWatcherFailed(ILogger log, Exception e, string kind, string @namespace, string name);

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested) return;
        _writes.Writer.TryComplete();
        await _writer.ConfigureAwait(false); // the writes already queued still commit
        await _stop.CancelAsync().ConfigureAwait(false);
        try { await _listener.ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        _stop.Dispose();
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}

/// <summary>A change as NOTIFY carries it: the change and the instance that made it.</summary>
internal sealed record ResourceChangeNotice(ResourceChange Change, string Origin)
{
    public static string Format(ResourceChange c, string origin) =>
        JsonSerializer.Serialize(new Payload(c.Kind, c.Namespace, c.Name, c.ResourceVersion, c.Type.ToString(), origin));

    public static ResourceChangeNotice Parse(string payload)
    {
        var p = JsonSerializer.Deserialize<Payload>(payload)!;
        return new(new ResourceChange(Enum.Parse<ChangeType>(p.Type), p.Kind, p.Namespace, p.Name, p.ResourceVersion), p.Origin);
    }

    private sealed record Payload(string Kind, string Namespace, string Name, long ResourceVersion, string Type, string Origin);
}
