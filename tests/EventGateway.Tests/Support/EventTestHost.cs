using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using EventGateway.Events.EventSources;
using EventGateway.Events.Log;
using EventGateway.Events.Sensors;
using EventGateway.Model;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Controller;
using EventGateway.Workflows.Execution;
using EventGateway.Workflows.Store;

namespace EventGateway.Tests.Support;

/// <summary>
/// The event side of the service in process: a real SQLite store and event log in a temporary
/// directory, and the EventSource host with its Kestrel listeners on 127.0.0.1.
/// </summary>
public sealed class EventTestHost : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private readonly bool _pipeline;
    /// <summary>Whether disposing removes the data directory: one the host made, or was handed (a restart's second host).</summary>
    private bool _deleteDataDir;

    private EventTestHost(string dataDir, ServiceProvider services, bool pipeline)
    {
        DataDir = dataDir;
        _services = services;
        _pipeline = pipeline;
    }

    public string DataDir { get; }
    public IResourceStore Store => _services.GetRequiredService<IResourceStore>();
    public IEventLog Log => _services.GetRequiredService<IEventLog>();
    public EventSourceHost Sources => _services.GetRequiredService<EventSourceHost>();
    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();

    public SensorHost Sensors => _services.GetRequiredService<SensorHost>();

    /// <param name="pipeline">Also run sensors and the workflow controller: the whole event-to-workflow path.</param>
    /// <param name="deleteDataDir">remove <paramref name="dataDir"/> when disposed (as a data directory the host makes is):
    /// the second host of a restart, on the first one's <see cref="KeepDataDir"/>.</param>
    public static async Task<EventTestHost> StartAsync(TimeProvider? time = null, string? dataDir = null, Action<EventGatewayOptions>? configure = null,
        bool pipeline = false, Action<IServiceCollection>? services2 = null, bool deleteDataDir = false)
    {
        deleteDataDir |= dataDir is null;
        dataDir ??= Directory.CreateTempSubdirectory("egw-events-").FullName;
        var options = new EventGatewayOptions { DataDir = dataDir, EventListenAddress = "127.0.0.1" };
        configure?.Invoke(options);
        var services = new ServiceCollection();
        services.AddSingleton(LoggerFactory.Create(b => b.AddProvider(new FileLoggerProvider(Path.Combine(Path.GetTempPath(), "egw-test-warnings.log")))));
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        services.AddEventGateway(options);
        if (time is not null) services.AddSingleton(time);
        services2?.Invoke(services);
        var provider = services.BuildServiceProvider();
        if (pipeline)
        {
            await provider.GetRequiredService<WorkflowController>().StartAsync(CancellationToken.None);
            await provider.GetRequiredService<SensorHost>().StartAsync(CancellationToken.None);
        }
        await provider.GetRequiredService<EventSourceHost>().StartAsync(CancellationToken.None);
        return new EventTestHost(dataDir, provider, pipeline) { _deleteDataDir = deleteDataDir };
    }

    /// <summary>Keeps the data directory when this host is disposed (a restart follows on it); returns it.</summary>
    public string KeepDataDir()
    {
        _deleteDataDir = false;
        return DataDir;
    }

    /// <summary>Applies the YAML's documents and waits until every EventSource in it has all listeners listening (or failed).</summary>
    public async Task<IReadOnlyList<Resource>> ApplyAsync(string yaml, TimeSpan? within = null)
    {
        var docs = ManifestReader.Read(yaml, "test.yaml");
        await Store.ApplyAllAsync(docs);
        foreach (var es in docs.OfType<EventSource>()) await WaitListeningAsync(es.NamespaceOrDefault, es.Name, within);
        if (_pipeline) foreach (var s in docs.OfType<Sensor>()) await WaitSensorRunningAsync(s.NamespaceOrDefault, s.Name, within);
        return docs;
    }

    /// <summary>Waits until the sensor's pipeline reads the log; fails with its message if it was refused.</summary>
    public async Task<SensorStatus> WaitSensorRunningAsync(string ns, string name, TimeSpan? within = null) =>
        await Eventually.Get(() =>
        {
            var s = Sensors.StatusOf(ns, name);
            if (s is { State: SensorState.Refused or SensorState.Failed }) throw new Xunit.Sdk.XunitException($"sensor {ns}/{name} {s.State}: {s.Message}");
            return Task.FromResult(s is { State: SensorState.Running or SensorState.Waiting } ? s : null);
        }, $"sensor {ns}/{name} running", within ?? TimeSpan.FromSeconds(30));

    /// <summary>Waits until at least <paramref name="count"/> workflows exist and every one of them has completed.</summary>
    public async Task<IReadOnlyList<Workflow>> WaitWorkflowsCompletedAsync(int count, TimeSpan? within = null) =>
        await Eventually.Get(async () =>
        {
            var all = await Store.ListAsync<Workflow>();
            return all.Count >= count && all.All(w => w.Status?.IsCompleted == true) ? all : null;
        }, $"{count} completed workflows", within ?? TestEngine.Patience);

    public string StepLog(Workflow wf, NodeStatus node, string stream = "stdout")
    {
        var path = Get<IStepExecutor>().LogPath(new StepKey(wf.NamespaceOrDefault, wf.Name, node.Id), stream);
        return File.Exists(path) ? File.ReadAllText(path) : "";
    }

    /// <summary>Waits until every listener of the EventSource has left Starting; fails with their messages if one Failed.</summary>
    public async Task<IReadOnlyList<ListenerStatus>> WaitListeningAsync(string ns, string name, TimeSpan? within = null, bool allowFailed = false)
    {
        var listeners = await Eventually.Get(() =>
        {
            var s = Sources.StatusOf(ns, name);
            if (s is { Error: { } error }) throw new Xunit.Sdk.XunitException($"event source {ns}/{name} refused: {error}");
            return Task.FromResult(s is { } st && st.Listeners.Count > 0 && st.Listeners.All(l => l.State != ListenerState.Starting) ? st.Listeners : null);
        }, $"event source {ns}/{name} listening", within ?? TimeSpan.FromSeconds(30));
        if (!allowFailed && listeners.FirstOrDefault(l => l.State == ListenerState.Failed) is { } failed)
            throw new Xunit.Sdk.XunitException($"listener {failed.Type}/{failed.EventName} failed: {failed.Message}");
        return listeners;
    }

    /// <summary>Waits until the log holds at least <paramref name="count"/> events of the source; returns them oldest first.</summary>
    public async Task<IReadOnlyList<LoggedEvent>> WaitForEventsAsync(string source, int count, TimeSpan? within = null) =>
        await Eventually.Get(async () =>
        {
            var events = await Log.QueryAsync(new EventQuery(Source: source, Limit: 10_000));
            return events.Count >= count ? events.Reverse().ToList() : null;
        }, $"{count} events from {source}", within ?? TimeSpan.FromSeconds(30));

    /// <summary>A port free on loopback at the moment of asking.</summary>
    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await Sources.StopAsync(CancellationToken.None);
        if (_pipeline)
        {
            await Sensors.StopAsync(CancellationToken.None);
            await Get<WorkflowController>().StopAsync(CancellationToken.None);
        }
        await _services.DisposeAsync();
        if (!_deleteDataDir) return;
        try { Directory.Delete(DataDir, recursive: true); }
        catch (IOException) { } // a file still held a moment longer: the temp directory's leftovers
    }
}
