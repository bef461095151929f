using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Store;

namespace EventGateway.Server.Hosting;

/// <summary>
/// <c>egw serve --manifests DIR</c>: applies every manifest under the directories at start and again
/// when files change. Each file is applied on its own (one transaction); a bad document is refused
/// with its location and the rest keep running. Objects whose document disappeared are deleted;
/// each applied object carries the file it came from in an annotation, so a restart can tell.
/// </summary>
public sealed partial class ManifestDirectoryWatcher(
    IReadOnlyList<string> directories,
    IResourceStore store,
    TimeProvider time,
    ILogger<ManifestDirectoryWatcher> log,
    ManifestParser? parser = null) : IHostedService, IDisposable
{
    /// <summary>The service's parser (pod-only fields when steps are pods), or the embedded one.</summary>
    private readonly ManifestParser _parser = parser ?? ManifestReader.Parser;

    public const string SourceAnnotation = Annotations.ManifestFile;

    private static readonly string[] Extensions = [".yaml", ".yml", ".json"];
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, (string Hash, HashSet<ObjectKey> Objects)> _files = new(StringComparer.Ordinal);
    private readonly List<FileSystemWatcher> _watchers = [];
    private ITimer? _debounce;
    private ITimer? _rescan;

    private readonly record struct ObjectKey(string Kind, string Namespace, string Name);

    /// <summary>The refusals of the last load, per file; empty when every document applied.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<ManifestError>> Errors { get; private set; } = new Dictionary<string, IReadOnlyList<ManifestError>>();

    /// <summary>Raised after each load pass (tests wait on it).</summary>
    public event Action? Loaded;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var dir in directories)
            if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"manifest directory {dir} does not exist");
        await LoadAsync(initial: true, cancellationToken).ConfigureAwait(false);
        _debounce = time.CreateTimer(_ => _ = LoadSafelyAsync(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        // File events can be missed (editors, network filesystems); a slow rescan catches up.
        _rescan = time.CreateTimer(_ => _ = LoadSafelyAsync(), null, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30));
        foreach (var dir in directories)
        {
            var w = new FileSystemWatcher(dir) { IncludeSubdirectories = true, NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.DirectoryName };
            FileSystemEventHandler changed = (_, _) => _debounce?.Change(TimeSpan.FromMilliseconds(200), Timeout.InfiniteTimeSpan);
            w.Changed += changed; w.Created += changed; w.Deleted += changed;
            w.Renamed += (_, _) => _debounce?.Change(TimeSpan.FromMilliseconds(200), Timeout.InfiniteTimeSpan);
            w.EnableRaisingEvents = true;
            _watchers.Add(w);
        }
    }

    private async Task LoadSafelyAsync()
    {
        try { await LoadAsync(initial: false, CancellationToken.None).ConfigureAwait(false); }
        catch (Exception e) { LogLoadFailed(log, e); }
    }

    /// <summary>One pass over every directory; unchanged files are skipped by content hash.</summary>
    public async Task LoadAsync(bool initial = false, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var errors = new Dictionary<string, IReadOnlyList<ManifestError>>(StringComparer.Ordinal);
            var present = new HashSet<string>(StringComparer.Ordinal);
            foreach (var dir in directories)
                foreach (var file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
                    .Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase) && !IsHidden(dir, f))
                    .Order(StringComparer.Ordinal))
                {
                    var path = Path.GetFullPath(file);
                    present.Add(path);
                    string text;
                    // A file over the manifest cap is reported, not read into memory; what it applied before stays.
                    if (new FileInfo(path) is { Exists: true, Length: > YamlToJson.MaxManifestBytes })
                    {
                        errors[path] = [new ManifestError(path, 0, null, null, "", null, $"manifest is larger than {YamlToJson.MaxManifestBytes} bytes (the limit of one manifest)")];
                        continue;
                    }
                    try { text = await File.ReadAllTextAsync(path, ct).ConfigureAwait(false); }
                    catch (IOException) { continue; } // being written: the next event or rescan picks it up
                    var hash = Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
                    if (_files.TryGetValue(path, out var known) && known.Hash == hash)
                    {
                        if (Errors.TryGetValue(path, out var old)) errors[path] = old;
                        continue;
                    }
                    var (objects, fileErrors) = await ApplyFileAsync(path, text, ct).ConfigureAwait(false);
                    if (fileErrors.Count > 0) errors[path] = fileErrors;
                    var previous = known.Objects ?? [];
                    foreach (var gone in previous.Except(objects)) await DeleteAsync(gone, path, ct).ConfigureAwait(false);
                    _files[path] = (hash, objects);
                }
            foreach (var removed in _files.Keys.Where(f => !present.Contains(f)).ToList())
            {
                foreach (var gone in _files[removed].Objects) await DeleteAsync(gone, removed, ct).ConfigureAwait(false);
                _files.Remove(removed);
                LogFileRemoved(log, removed);
            }
            if (initial) await DeleteOrphansAsync(ct).ConfigureAwait(false);
            Errors = errors;
        }
        finally
        {
            _gate.Release();
        }
        Loaded?.Invoke();
    }

    private async Task<(HashSet<ObjectKey>, IReadOnlyList<ManifestError>)> ApplyFileAsync(string path, string text, CancellationToken ct)
    {
        var (valid, errors) = _parser.ReadEach(text, path);
        var list = errors.ToList();
        var apply = new List<Resource>();
        foreach (var r in valid)
        {
            if (r is Workflow)
            {
                list.Add(new ManifestError(path, 0, r.Kind, r.Metadata.Name ?? r.Metadata.GenerateName, "", null,
                    "Workflows run once and are not loaded from manifest directories; submit them with `egw submit`"));
                continue;
            }
            (r.Metadata.Annotations ??= [])[SourceAnnotation] = path;
            apply.Add(r);
        }
        foreach (var e in list) LogRefused(log, e.ToString());
        if (apply.Count == 0) return ([], list);
        try
        {
            await store.ApplyAllAsync(apply, ct).ConfigureAwait(false);
            LogApplied(log, path, apply.Count);
        }
        catch (Exception e) when (e is ConflictException or InvalidOperationException)
        {
            list.Add(new ManifestError(path, 0, null, null, "", null, $"not applied: {e.Message}"));
            LogRefused(log, $"{path}: not applied: {e.Message}");
            return ([], list);
        }
        return (apply.Select(r => new ObjectKey(r.Kind, Namespace(r), r.Name)).ToHashSet(), list);
    }

    private static string Namespace(Resource r) => Resources.IsClusterScoped(r.Kind) ? "" : r.NamespaceOrDefault;

    /// <summary>Deletes an object only if it still comes from that file (a later `egw apply` owns it otherwise).</summary>
    private async Task DeleteAsync(ObjectKey key, string file, CancellationToken ct)
    {
        var current = await GetAsync(key, ct).ConfigureAwait(false);
        if (current?.Metadata.Annotations?.GetValueOrDefault(SourceAnnotation) != file) return;
        await (key.Kind switch
        {
            "EventSource" => store.DeleteAsync<EventSource>(key.Namespace, key.Name, ct),
            "Sensor" => store.DeleteAsync<Sensor>(key.Namespace, key.Name, ct),
            "WorkflowTemplate" => store.DeleteAsync<WorkflowTemplate>(key.Namespace, key.Name, ct),
            "ClusterWorkflowTemplate" => store.DeleteAsync<ClusterWorkflowTemplate>(key.Namespace, key.Name, ct),
            "CronWorkflow" => store.DeleteAsync<CronWorkflow>(key.Namespace, key.Name, ct),
            "ConfigMap" => store.DeleteAsync<ConfigMap>(key.Namespace, key.Name, ct),
            "Secret" => store.DeleteAsync<Secret>(key.Namespace, key.Name, ct),
            "PersistentVolumeClaim" => store.DeleteAsync<PersistentVolumeClaim>(key.Namespace, key.Name, ct),
            _ => Task.FromResult(false),
        }).ConfigureAwait(false);
        LogDeleted(log, key.Kind, key.Namespace, key.Name, file);
    }

    private async Task<Resource?> GetAsync(ObjectKey key, CancellationToken ct) => key.Kind switch
    {
        "EventSource" => await store.GetAsync<EventSource>(key.Namespace, key.Name, ct).ConfigureAwait(false),
        "Sensor" => await store.GetAsync<Sensor>(key.Namespace, key.Name, ct).ConfigureAwait(false),
        "WorkflowTemplate" => await store.GetAsync<WorkflowTemplate>(key.Namespace, key.Name, ct).ConfigureAwait(false),
        "ClusterWorkflowTemplate" => await store.GetAsync<ClusterWorkflowTemplate>(key.Namespace, key.Name, ct).ConfigureAwait(false),
        "CronWorkflow" => await store.GetAsync<CronWorkflow>(key.Namespace, key.Name, ct).ConfigureAwait(false),
        "ConfigMap" => await store.GetAsync<ConfigMap>(key.Namespace, key.Name, ct).ConfigureAwait(false),
        "Secret" => await store.GetAsync<Secret>(key.Namespace, key.Name, ct).ConfigureAwait(false),
        "PersistentVolumeClaim" => await store.GetAsync<PersistentVolumeClaim>(key.Namespace, key.Name, ct).ConfigureAwait(false),
        _ => null,
    };

    /// <summary>After a restart: objects loaded from a file of these directories that is gone (or no longer holds them).</summary>
    private async Task DeleteOrphansAsync(CancellationToken ct)
    {
        var roots = directories.Select(d => Path.GetFullPath(d).TrimEnd('/') + "/").ToList();
        var all = new List<Resource>();
        all.AddRange(await store.ListAsync<EventSource>(ct: ct).ConfigureAwait(false));
        all.AddRange(await store.ListAsync<Sensor>(ct: ct).ConfigureAwait(false));
        all.AddRange(await store.ListAsync<WorkflowTemplate>(ct: ct).ConfigureAwait(false));
        all.AddRange(await store.ListAsync<ClusterWorkflowTemplate>(ct: ct).ConfigureAwait(false));
        all.AddRange(await store.ListAsync<CronWorkflow>(ct: ct).ConfigureAwait(false));
        all.AddRange(await store.ListAsync<ConfigMap>(ct: ct).ConfigureAwait(false));
        all.AddRange(await store.ListAsync<Secret>(ct: ct).ConfigureAwait(false));
        all.AddRange(await store.ListAsync<PersistentVolumeClaim>(ct: ct).ConfigureAwait(false));
        foreach (var r in all)
        {
            if (r.Metadata.Annotations?.GetValueOrDefault(SourceAnnotation) is not { } file || !roots.Any(root => file.StartsWith(root, StringComparison.Ordinal))) continue;
            var key = new ObjectKey(r.Kind, Namespace(r), r.Name);
            if (_files.TryGetValue(file, out var loaded) && loaded.Objects.Contains(key)) continue;
            await DeleteAsync(key, file, ct).ConfigureAwait(false);
        }
    }

    private static bool IsHidden(string root, string file) =>
        Path.GetRelativePath(root, file).Split(Path.DirectorySeparatorChar).Any(p => p.StartsWith('.'));

    public Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var w in _watchers) w.EnableRaisingEvents = false;
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        foreach (var w in _watchers) w.Dispose();
        _debounce?.Dispose();
        _rescan?.Dispose();
        _gate.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "manifests: applied {Count} objects from {File}")]
    private static partial void LogApplied(ILogger log, string file, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "manifests: refused {Error}")]
    private static partial void LogRefused(ILogger log, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "manifests: deleted {Kind} {Namespace}/{Name} (gone from {File})")]
    private static partial void LogDeleted(ILogger log, string kind, string @namespace, string name, string file);

    [LoggerMessage(Level = LogLevel.Information, Message = "manifests: {File} removed")]
    private static partial void LogFileRemoved(ILogger log, string file);

    [LoggerMessage(Level = LogLevel.Error, Message = "manifests: load failed")]
    private static partial void LogLoadFailed(ILogger log, Exception e);
}
