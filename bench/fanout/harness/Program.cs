using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Controller;
using EventGateway.Workflows.Execution;
using EventGateway.Workflows.Store;
using EventGateway.Workflows.Submission;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

// egw-bench --spawn-test N P ARGV...   (N x Process.Start(ARGV), P at a time, nothing else: .NET's own spawn cost)
// egw-bench FILE [--count N] [--executor sandbox|nosandbox|null] [--max-processes P] [--data-dir DIR]
//
// Runs the first Workflow in FILE to completion in process, like `egw run`, and prints one JSON line:
// wall time, this process's own CPU time (children excluded), GC figures, peak working set, and how
// often / how long the engine wrote workflow status to the store.
//   sandbox    the real executor, bubblewrap on (what `egw run` does)
//   nosandbox  the real executor, the sandbox off (EventGatewayOptions.Sandbox = false)
//   sandbox-nonet  the real executor, sandboxed, --step-network none
//   null       no processes at all: every step "exits 0" at once; what is left is the engine itself
//   delay:MS   no processes, but every step "exits 0" MS milliseconds after it starts, so completions
//              arrive one by one as with real processes (each one triggers a reconcile pass)
if (args is ["--spawn-test", var sn, var sconc, .. var argv] && argv.Length > 0)
    return await SpawnTest.RunAsync(int.Parse(sn, CultureInfo.InvariantCulture), int.Parse(sconc, CultureInfo.InvariantCulture), argv);

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
var delayMs = executor.StartsWith("delay:", StringComparison.Ordinal) && int.TryParse(executor[6..], CultureInfo.InvariantCulture, out var d) ? d : -1;
if (file is null || (executor is not ("sandbox" or "sandbox-nonet" or "nosandbox" or "null") && delayMs < 0))
{
    Console.Error.WriteLine("usage: egw-bench FILE [--count N] [--executor sandbox|sandbox-nonet|nosandbox|null|delay:MS] [--max-processes P] [--data-dir DIR]");
    return 2;
}

var temp = dataDir is null ? Directory.CreateTempSubdirectory("egw-bench-").FullName : null;
var options = new EventGatewayOptions { DataDir = Path.GetFullPath(dataDir ?? temp!), Sandbox = executor is "sandbox" or "sandbox-nonet" };
if (executor == "sandbox-nonet") options.StepNetwork = StepNetwork.None; // the sandbox without the workflow's network namespace
if (maxProcesses is { } mp) options.MaxProcesses = mp;

using var gcListener = Environment.GetEnvironmentVariable("EGW_BENCH_GC_REASONS") == "1" ? new GcReasons() : null;
var wall = Stopwatch.StartNew();
var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
using var logging = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Error));
var services = new ServiceCollection();
services.AddSingleton(logging);
services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
services.AddEventGateway(options);
// Decorate the store to count status writes; optionally replace the executor.
services.AddSingleton<IResourceStore>(sp => new CountingStore(new SqliteResourceStore(Path.Combine(options.DataDir, "egw.db"), TimeProvider.System)));
if (executor == "null" || delayMs >= 0) services.AddSingleton<IStepExecutor>(new NullExecutor(options.DataDir, Math.Max(0, delayMs)));
await using var sp = services.BuildServiceProvider();

var store = (CountingStore)sp.GetRequiredService<IResourceStore>();
var controller = sp.GetRequiredService<WorkflowController>();
var submitter = sp.GetRequiredService<WorkflowSubmitter>();
var done = new TaskCompletionSource<Workflow>(TaskCreationOptions.RunContinuationsAsynchronously);
using var completion = controller.Observe(new Completion(done));
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
// Node ids are a 32-bit FNV hash of the node name (NodeIds.For), so two loop steps of one workflow can share
// an id, and one then overwrites the other in status.nodes. Count such pairs for the names this run used.
var podCount = nodes.Count(n => n.Type == NodeType.Pod);
int? idCollisions = null;
if (count is { } expected && podCount != expected)
{
    var ids = new HashSet<string>(StringComparer.Ordinal);
    idCollisions = 0;
    for (var i = 0; i < expected; i++)
        if (!ids.Add(NodeIds.For(finished.Name, $"{finished.Name}[0].noop({i}:{i})"))) idCollisions++;
}
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
    self_minor_faults = SelfMinorFaults(),
    gc_reasons = gcListener?.Summary(),
    workflow = finished.Name,
    node_id_collisions = idCollisions,
};
Console.WriteLine(JsonSerializer.Serialize(result));
if (temp is not null) Directory.Delete(temp, recursive: true);
return finished.Status?.Phase == WorkflowPhase.Succeeded ? 0 : 1;

static long SelfMinorFaults()
{
    // /proc/self/stat field 10 (minflt), counted after the command name, which may contain spaces.
    var stat = File.ReadAllText("/proc/self/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    return long.Parse(fields[7], CultureInfo.InvariantCulture);
}

/// <summary>Every step "exits 0" without a process, at once or after a delay.</summary>
internal sealed class NullExecutor(string dataDir, int delayMs) : IStepExecutor
{
    public async Task<StepOutcome> RunAsync(StepSpec spec, Action started, CancellationToken stopWaiting)
    {
        started();
        var start = DateTimeOffset.UtcNow;
        if (delayMs > 0) await Task.Delay(delayMs, stopWaiting).ConfigureAwait(false);
        return new StepOutcome(StepEnd.Exited, 0, null, start, DateTimeOffset.UtcNow);
    }

    public void Kill(StepKey key) { }
    public string HostPath(StepKey key, string sandboxPath) => Path.Combine(dataDir, "null", sandboxPath.TrimStart('/'));
    public string LogPath(StepKey key, string stream) => Path.Combine(dataDir, "null", stream);
    public void Forget(string @namespace, string workflow) { }
    public void Forget(StepKey key) { }
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

/// <summary>Process.Start + WaitForExitAsync, P at a time, as LocalProcessExecutor does, without the engine.</summary>
internal static class SpawnTest
{
    public static async Task<int> RunAsync(int n, int p, string[] argv)
    {
        using var gcListener = Environment.GetEnvironmentVariable("EGW_BENCH_GC_REASONS") == "1" ? new GcReasons() : null;
var wall = Stopwatch.StartNew();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        using var slots = new SemaphoreSlim(p, p);
        var failed = 0;
        var tasks = new List<Task>(n);
        for (var i = 0; i < n; i++)
        {
            await slots.WaitAsync();
            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    var psi = new ProcessStartInfo(argv[0]) { UseShellExecute = false };
                    foreach (var a in argv.Skip(1)) psi.ArgumentList.Add(a);
                    using var proc = Process.Start(psi)!;
                    await proc.WaitForExitAsync();
                    if (proc.ExitCode != 0) Interlocked.Increment(ref failed);
                }
                finally { slots.Release(); }
            }));
        }
        await Task.WhenAll(tasks);
        var me = Process.GetCurrentProcess();
        me.Refresh();
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            spawn_test = string.Join(' ', argv), n, p, failed,
            wall_s = Math.Round(wall.Elapsed.TotalSeconds, 3),
            self_cpu_s = Math.Round((me.TotalProcessorTime - cpu0).TotalSeconds, 3),
            self_user_s = Math.Round(me.UserProcessorTime.TotalSeconds, 3),
            self_sys_s = Math.Round(me.PrivilegedProcessorTime.TotalSeconds, 3),
        }));
        return failed == 0 ? 0 : 1;
    }
}

/// <summary>Histogram of GC (generation, reason) from the runtime's GCStart events (EGW_BENCH_GC_REASONS=1).</summary>
internal sealed class GcReasons : System.Diagnostics.Tracing.EventListener
{
    private static readonly string[] Names = ["AllocSmall", "Induced", "LowMemory", "Empty", "AllocLarge", "OutOfSpaceSOH", "OutOfSpaceLOH", "InducedNotForced", "Internal", "InducedLowMemory", "InducedCompacting", "LowMemoryHost", "PMFullGC", "LowMemoryHostBlocking"];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _counts = new();

    protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
            EnableEvents(source, Allocations ? System.Diagnostics.Tracing.EventLevel.Verbose : System.Diagnostics.Tracing.EventLevel.Informational, (System.Diagnostics.Tracing.EventKeywords)1);
    }

    // EGW_BENCH_ALLOCATIONS=1 adds the runtime's allocation ticks (one per ~100 KB allocated), by kind and type.
    private static readonly bool Allocations = Environment.GetEnvironmentVariable("EGW_BENCH_ALLOCATIONS") == "1";

    protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
    {
        if (e.EventName is { } tick && tick.StartsWith("GCAllocationTick", StringComparison.Ordinal) && e.Payload is not null)
        {
            var kind = Convert.ToInt32(e.Payload[e.PayloadNames!.IndexOf("AllocationKind")], CultureInfo.InvariantCulture);
            var type = e.Payload[e.PayloadNames!.IndexOf("TypeName")] as string;
            _counts.AddOrUpdate($"alloc:{(kind == 1 ? "large" : kind == 2 ? "pinned" : "small")}:{type}", 1, (_, c) => c + 1);
            return;
        }
        if (e.EventName is not { } name || !name.StartsWith("GCStart", StringComparison.Ordinal) || e.Payload is null) return;
        var depth = Convert.ToInt32(e.Payload[e.PayloadNames!.IndexOf("Depth")], CultureInfo.InvariantCulture);
        var reason = Convert.ToInt32(e.Payload[e.PayloadNames!.IndexOf("Reason")], CultureInfo.InvariantCulture);
        _counts.AddOrUpdate($"gen{depth}:{(reason < Names.Length ? Names[reason] : reason.ToString(CultureInfo.InvariantCulture))}", 1, (_, c) => c + 1);
    }

    public Dictionary<string, int> Summary() => new(_counts);
}

/// <summary>Completes the harness's wait when the workflow ends.</summary>
sealed class Completion(TaskCompletionSource<Workflow> done) : IWorkflowObserver
{
    public void Completed(Workflow workflow) => done.TrySetResult(workflow);
}
