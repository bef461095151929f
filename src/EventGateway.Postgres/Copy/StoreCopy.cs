using System.Globalization;
using EventGateway.Model;
using EventGateway.Postgres.Schema;
using EventGateway.Postgres.Store;
using EventGateway.Workflows.Store;

namespace EventGateway.Postgres.Copy;

/// <summary>
/// Moves a store between the embedded mode (a data directory: egw.db, archive.db) and PostgreSQL, either way: every
/// resource with its uid, creationTimestamp and status, and every archived workflow. Not the sensor state: its
/// checkpoints are positions in one event log, which do not mean anything in another (the bus changes with the store).
/// </summary>
public static class StoreCopy
{
    public sealed record Result(int Resources, int Archived);

    /// <exception cref="StoreCopyException">a location is unusable, or the destination holds data and <paramref name="overwrite"/> is false.</exception>
    public static async Task<Result> CopyAsync(string from, string to, bool overwrite, CancellationToken ct = default)
    {
        if (Same(from, to)) throw new StoreCopyException($"--from and --to are the same store ({Display(from)})");
        await using var source = await Location.OpenAsync("--from", from, mustExist: true, ct).ConfigureAwait(false);
        await using var target = await Location.OpenAsync("--to", to, mustExist: false, ct).ConfigureAwait(false);

        var resources = await ReadResourcesAsync(source.Resources, ct).ConfigureAwait(false);
        var archived = await ReadArchiveAsync(source.Archive, ct).ConfigureAwait(false);
        var existing = await ReadResourcesAsync(target.Resources, ct).ConfigureAwait(false);
        var existingArchived = await ReadSummariesAsync(target.Archive, ct).ConfigureAwait(false);
        if (existing.Count + existingArchived.Count > 0)
        {
            if (!overwrite)
                throw new StoreCopyException($"--to {Display(to)} is not empty: it holds {existing.Count.ToString(CultureInfo.InvariantCulture)} resource(s) and " +
                    $"{existingArchived.Count.ToString(CultureInfo.InvariantCulture)} archived workflow(s); copy into an empty store, or add --overwrite to replace them");
            // Overwrite: the destination becomes the source, nothing of its own stays.
            foreach (var r in existing) await StoreKind.All[r.Kind].Delete(target.Resources, r.NamespaceOrDefault, r.Name, ct).ConfigureAwait(false);
            foreach (var uid in existingArchived) await target.Archive.DeleteAsync(uid, ct).ConfigureAwait(false);
        }
        await ((IResourceImporter)target.Resources).ImportAsync(resources, ct).ConfigureAwait(false);
        foreach (var wf in archived) await target.Archive.ArchiveAsync(wf, ct).ConfigureAwait(false);
        return new Result(resources.Count, archived.Count);
    }

    /// <summary>Every object of every kind, oldest change first, so the copy hands out versions in the same order.</summary>
    private static async Task<List<Resource>> ReadResourcesAsync(IResourceStore store, CancellationToken ct)
    {
        var all = new List<Resource>();
        foreach (var kind in StoreKind.All.Values) all.AddRange(await kind.List(store, null!, ct).ConfigureAwait(false));
        return [.. all.OrderBy(r => long.Parse(r.Metadata.ResourceVersion ?? "0", CultureInfo.InvariantCulture))];
    }

    /// <summary>Every archived workflow whole, oldest archived first, so the listing order carries over.</summary>
    private static async Task<List<Workflow>> ReadArchiveAsync(IWorkflowArchive archive, CancellationToken ct)
    {
        var result = new List<Workflow>();
        foreach (var uid in Enumerable.Reverse(await ReadSummariesAsync(archive, ct).ConfigureAwait(false)))
            if (await archive.GetAsync(uid, ct).ConfigureAwait(false) is { } wf) result.Add(wf);
        return result;
    }

    private static async Task<List<string>> ReadSummariesAsync(IWorkflowArchive archive, CancellationToken ct)
    {
        var uids = new List<string>();
        string? token = null;
        do
        {
            var page = await archive.ListAsync(new ArchiveQuery(null, null, LabelMatcher.Everything, 500, token), ct).ConfigureAwait(false);
            uids.AddRange(page.Items.Select(w => w.Metadata.Uid!));
            token = page.Continue;
        }
        while (token is not null);
        return uids;
    }

    private static bool IsUrl(string location) => location.StartsWith("postgres://", StringComparison.Ordinal) || location.StartsWith("postgresql://", StringComparison.Ordinal);

    private static bool Same(string a, string b) =>
        IsUrl(a) == IsUrl(b) && (IsUrl(a) ? a == b : Path.GetFullPath(a).TrimEnd('/') == Path.GetFullPath(b).TrimEnd('/'));

    private static string Display(string location) => IsUrl(location) ? PostgresDatabase.Redact(location) : location;

    /// <summary>One side of the copy, opened: its resource store and archive, and what to close.</summary>
    private sealed class Location(IResourceStore resources, IWorkflowArchive archive, Func<ValueTask> close) : IAsyncDisposable
    {
        public IResourceStore Resources { get; } = resources;
        public IWorkflowArchive Archive { get; } = archive;

        public static async Task<Location> OpenAsync(string flag, string location, bool mustExist, CancellationToken ct)
        {
            if (IsUrl(location))
            {
                PostgresDatabase db;
                try { db = await PostgresDatabase.OpenAsync(location, ct).ConfigureAwait(false); }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                {
                    throw new StoreCopyException($"{flag}: {e.Message.Replace("--store ", "", StringComparison.Ordinal)}", e);
                }
                var store = await PostgresResourceStore.OpenAsync(db, ct: ct).ConfigureAwait(false);
                return new Location(store, new PostgresWorkflowArchive(db), async () =>
                {
                    await store.DisposeAsync().ConfigureAwait(false);
                    await db.DisposeAsync().ConfigureAwait(false);
                });
            }
            var dir = Path.GetFullPath(location);
            var dbFile = Path.Combine(dir, "egw.db");
            if (mustExist && !File.Exists(dbFile))
                throw new StoreCopyException($"{flag} {location}: no egw store there ({dbFile} does not exist); give the data directory of an `egw serve` or a postgres:// URL");
            var sqlite = new SqliteResourceStore(dbFile);
            var sqliteArchive = new SqliteWorkflowArchive(Path.Combine(dir, "archive.db"));
            return new Location(sqlite, sqliteArchive, () =>
            {
                sqlite.Dispose();
                sqliteArchive.Dispose();
                return ValueTask.CompletedTask;
            });
        }

        public ValueTask DisposeAsync() => close();
    }
}

public sealed class StoreCopyException(string message, Exception? inner = null) : Exception(message, inner);
