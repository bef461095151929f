using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using EventGateway.Model;
using EventGateway.Workflows.Controller;
using EventGateway.Workflows.Execution;
using EventGateway.Workflows.Store;
using EventGateway.Workflows.Submission;
using EventGateway.Workflows.Artifacts;

namespace EventGateway.Server.Hosting;

/// <summary>
/// The whole engine in process, without the HTTP host: what `egw run` and the tests use.
/// Apply manifests, submit workflows, await their completion.
/// </summary>
public sealed class EmbeddedEngine : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<Workflow>> _waiters = new(StringComparer.Ordinal);
    private readonly IDisposable _completions;
    private readonly CancellationTokenSource _stop = new();

    public EmbeddedEngine(EventGatewayOptions options, ILoggerFactory? logging = null, TimeProvider? time = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(logging ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        services.AddEventGateway(options);
        if (time is not null) services.AddSingleton(time);
        _services = services.BuildServiceProvider();
        _completions = Controller.Observe(new Completions(_waiters));
    }

    /// <summary>Hands each completed workflow to whoever waits for it.</summary>
    private sealed class Completions(ConcurrentDictionary<string, TaskCompletionSource<Workflow>> waiters) : IWorkflowObserver
    {
        public void Completed(Workflow wf)
        {
            if (waiters.TryRemove(Key(wf.NamespaceOrDefault, wf.Name), out var tcs)) tcs.TrySetResult(wf);
        }
    }

    public IResourceStore Store => _services.GetRequiredService<IResourceStore>();
    public WorkflowController Controller => _services.GetRequiredService<WorkflowController>();
    public WorkflowSubmitter Submitter => _services.GetRequiredService<WorkflowSubmitter>();
    /// <summary>How this service reads manifests (the API's and the manifest directories' parser): depends on the executor and mode.</summary>
    public EventGateway.Model.Manifests.ManifestParser Parser => _services.GetRequiredService<EventGateway.Model.Manifests.ManifestParser>();
    public IStepExecutor Executor => _services.GetRequiredService<IStepExecutor>();

    /// <summary>The workflow archive; null when it is off.</summary>
    public IWorkflowArchive? Archive => _services.GetService<IWorkflowArchive>();

    public Workflows.Retention.WorkflowReaper Reaper => _services.GetRequiredService<Workflows.Retention.WorkflowReaper>();

    public async Task StartAsync()
    {
        var reaper = Reaper;
        await _services.GetRequiredService<ArtifactGarbageCollector>().StartAsync(_stop.Token).ConfigureAwait(false);
        await Controller.StartAsync(_stop.Token).ConfigureAwait(false);
        await reaper.StartAsync(_stop.Token).ConfigureAwait(false);
    }

    /// <summary>Stores every non-Workflow document (templates, ConfigMaps, Secrets) in one transaction.</summary>
    public Task ApplyAsync(IEnumerable<Resource> resources, CancellationToken ct = default) =>
        Store.ApplyAllAsync(resources.Where(r => r is not Workflow).ToList(), ct);

    public async Task<Workflow> SubmitAsync(Workflow wf, IReadOnlyList<KeyValuePair<string, string>>? parameters = null, string source = "<input>", CancellationToken ct = default) =>
        await SubmitPreparedAsync(await Submitter.PrepareAsync(wf, parameters, source, ct).ConfigureAwait(false), ct).ConfigureAwait(false);

    /// <summary>Stores a workflow <see cref="WorkflowSubmitter.PrepareAsync"/> returned, as it is.</summary>
    public async Task<Workflow> SubmitPreparedAsync(Workflow prepared, CancellationToken ct = default)
    {
        var created = await Store.CreateAsync(prepared, ct).ConfigureAwait(false);
        // Register before the controller can possibly finish it.
        _waiters.GetOrAdd(Key(created.NamespaceOrDefault, created.Name), _ => new TaskCompletionSource<Workflow>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (await Store.GetAsync<Workflow>(created.NamespaceOrDefault, created.Name, ct).ConfigureAwait(false) is { Status.IsCompleted: true } done
            && _waiters.TryRemove(Key(done.NamespaceOrDefault, done.Name), out var tcs))
            tcs.TrySetResult(done);
        return created;
    }

    /// <summary>Completes when the workflow is Succeeded, Failed or Error.</summary>
    public async Task<Workflow> WaitAsync(Workflow wf, CancellationToken ct = default)
    {
        var key = Key(wf.NamespaceOrDefault, wf.Name);
        var tcs = _waiters.GetOrAdd(key, _ => new TaskCompletionSource<Workflow>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (await Store.GetAsync<Workflow>(wf.NamespaceOrDefault, wf.Name, ct).ConfigureAwait(false) is { Status.IsCompleted: true } done)
        {
            _waiters.TryRemove(key, out _);
            return done;
        }
        return await tcs.Task.WaitAsync(ct).ConfigureAwait(false);
    }

    public async Task<Workflow> RunAsync(Workflow wf, IReadOnlyList<KeyValuePair<string, string>>? parameters = null, CancellationToken ct = default) =>
        await WaitAsync(await SubmitAsync(wf, parameters, ct: ct).ConfigureAwait(false), ct).ConfigureAwait(false);

    private static string Key(string ns, string name) => $"{ns}/{name}";

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try { await Reaper.StopAsync(CancellationToken.None).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        try { await Controller.StopAsync(CancellationToken.None).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        try { await _services.GetRequiredService<ArtifactGarbageCollector>().StopAsync(CancellationToken.None).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        _completions.Dispose();
        await _services.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
