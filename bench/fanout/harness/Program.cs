using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EventGateway.Execution;
using EventGateway.Hosting;
using EventGateway.Manifests;
using EventGateway.Model;
using EventGateway.Store;
using EventGateway.Workflows;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

// egw-bench FILE [--count N] [--executor sandbox|nosandbox|null] [--max-processes P] [--data-dir DIR]
//
// Runs the first Workflow in FILE to completion in process, like `egw run`, and prints one JSON line:
// wall time, this process's own CPU time (children excluded), GC figures, peak working set, and how
// often / how long the engine wrote workflow status to the store.
//   sandbox    the real executor, bubblewrap on (what `egw run` does)
//   nosandbox  the real executor, bubblewrap off (EventGatewayOptions.Sandbox = false)
//   null       no processes at all: every step "exits 0" at once; what is left is the engine itself
string? file = null, dataDir = null, executor = "sandbox";
int? count = null, maxProcesses = null;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--count": count = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--executor": executor = args[++i]; break;
        case "--max-processes": maxProcesses = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--data-dir": dataDir = args[++i]; break;
        default: file = args[i]; break;
    }
}
if (file is null || executor is not ("sandbox" or "nosandbox" or "null"))
{
    Console.Error.WriteLine("usage: egw-bench FILE [--count N] [--executor sandbox|nosandbox|null] [--max-processes P] [--data-dir DIR]");
    return 2;
}

var temp = dataDir is null ? Directory.CreateTempSubdirectory("egw-bench-").FullName : null;
var options = new EventGatewayOptions { DataDir = Path.GetFullPath(dataDir ?? temp!), Sandbox = executor == "sandbox" };
if (maxProcesses is { } mp) options.MaxProcesses = mp;

var wall = Stopwatch.StartNew();
var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
using var logging = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Error));
var services = new ServiceCollection();
services.AddSingleton(logging);
services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
services.AddEventGateway(options);
// Decorate the store to count status writes; optionally replace the executor.
services.AddSingleton<IResourceStore>(sp => new CountingStore(new SqliteResourceStore(Path.Combine(options.DataDir, "egw.db"), TimeProvider.System)));
if (executor == "null") services.AddSingleton<IStepExecutor>(new NullExecutor(options.DataDir));
await using var sp = services.BuildServiceProvider();

var store = (CountingStore)sp.GetRequiredService<IResourceStore>();
var controller = sp.GetRequiredService<WorkflowController>();
var submitter = sp.GetRequiredService<WorkflowSubmitter>();
var done = new TaskCompletionSource<Workflow>(TaskCreationOptions.RunContinuationsAsynchronously);
controller.WorkflowCompleted += wf => done.TrySetResult(wf);
using var stop = new CancellationTokenSource();
await controller.StartAsync(stop.Token);

var wf = ManifestReader.ReadFile(file).OfType<Workflow>().First();
var parameters = count is { } c ? new List<KeyValuePair<string, string>> { new("count", c.ToString(CultureInfo.InvariantCulture)) } : null;
var prepared = await submitter.PrepareAsync(wf, parameters, file, CancellationToken.None);
var submitAt = wall.Elapsed;
await store.CreateAsync(prepared);
var finished = await done.Task;
var runWall = wall.Elapsed - submitAt;
await stop.CancelAsync();
try { await controller.StopAsync(CancellationToken.None); } catch (OperationCanceledException) { }

var me = Process.GetCurrentProcess();
me.Refresh();
var nodes = finished.Status?.Nodes?.Values ?? Enumerable.Empty<NodeStatus>();
var statusBytes = JsonSerializer.SerializeToUtf8Bytes(finished, Json.Options).Length;
var result = new
{
    executor,
    count,
    phase = finished.Status?.Phase,
    pods = nodes.Count(n => n.Type == NodeType.Pod),
    succeeded = nodes.Count(n => n.Type == NodeType.Pod && n.Phase == NodePhase.Succeeded),
    wall_s = Math.Round(wall.Elapsed.TotalSeconds, 3),
    run_wall_s = Math.Round(runWall.TotalSeconds, 3),
    self_cpu_s = Math.Round((me.TotalProcessorTime - cpu0).TotalSeconds, 3),
    self_user_s = Math.Round(me.UserProcessorTime.TotalSeconds, 3),
    self_sys_s = Math.Round(me.PrivilegedProcessorTime.TotalSeconds, 3),
    peak_working_set_mb = Math.Round(me.PeakWorkingSet64 / 1048576.0, 1),
    gc_allocated_mb = Math.Round(GC.GetTotalAllocatedBytes() / 1048576.0, 1),
    gc_count = new[] { GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2) },
    gc_pause_s = Math.Round(GC.GetTotalPauseDuration().TotalSeconds, 3),
    store_updates = store.Updates,
    store_update_s = Math.Round(store.UpdateTime.TotalSeconds, 3),
    final_status_json_mb = Math.Round(statusBytes / 1048576.0, 2),
};
Console.WriteLine(JsonSerializer.Serialize(result));
if (temp is not null) Directory.Delete(temp, recursive: true);
return finished.Status?.Phase == WorkflowPhase.Succeeded ? 0 : 1;

/// <summary>Every step "exits 0" immediately, without a process.</summary>
internal sealed class NullExecutor(string dataDir) : IStepExecutor
{
    public Task<StepOutcome> RunAsync(StepSpec spec, Action started, CancellationToken stopWaiting)
    {
        started();
        var now = DateTimeOffset.UtcNow;
        return Task.FromResult(new StepOutcome(StepEnd.Exited, 0, null, now, now));
    }

    public void Kill(StepKey key) { }
    public string HostPath(StepKey key, string sandboxPath) => Path.Combine(dataDir, "null", sandboxPath.TrimStart('/'));
    public string LogPath(StepKey key, string stream) => Path.Combine(dataDir, "null", stream);
    public void Forget(string @namespace, string workflow) { }
}

/// <summary>Counts and times UpdateAsync (the controller's status saves).</summary>
internal sealed class CountingStore(IResourceStore inner) : IResourceStore
{
    private long _ticks;
    private int _updates;
    public int Updates => _updates;
    public TimeSpan UpdateTime => TimeSpan.FromTicks(Interlocked.Read(ref _ticks));

    public Task<T?> GetAsync<T>(string @namespace, string name, CancellationToken ct = default) where T : Resource => inner.GetAsync<T>(@namespace, name, ct);
    public Task<IReadOnlyList<T>> ListAsync<T>(string? @namespace = null, CancellationToken ct = default) where T : Resource => inner.ListAsync<T>(@namespace, ct);
    public Task<T> CreateAsync<T>(T resource, CancellationToken ct = default) where T : Resource => inner.CreateAsync(resource, ct);
    public async Task<T> UpdateAsync<T>(T resource, CancellationToken ct = default) where T : Resource
    {
        var t = Stopwatch.GetTimestamp();
        try { return await inner.UpdateAsync(resource, ct).ConfigureAwait(false); }
        finally
        {
            Interlocked.Add(ref _ticks, Stopwatch.GetElapsedTime(t).Ticks);
            Interlocked.Increment(ref _updates);
        }
    }
    public Task<T> ApplyAsync<T>(T resource, CancellationToken ct = default) where T : Resource => inner.ApplyAsync(resource, ct);
    public Task<IReadOnlyList<Resource>> ApplyAllAsync(IReadOnlyList<Resource> resources, CancellationToken ct = default) => inner.ApplyAllAsync(resources, ct);
    public Task<bool> DeleteAsync<T>(string @namespace, string name, CancellationToken ct = default) where T : Resource => inner.DeleteAsync<T>(@namespace, name, ct);
    public IDisposable Watch(string kind, Action<ResourceChange> onChange) => inner.Watch(kind, onChange);
}
