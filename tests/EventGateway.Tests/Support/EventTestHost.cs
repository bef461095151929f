using System.Net;
using System.Net.Sockets;
using EventGateway.Events;
using EventGateway.EventSources;
using EventGateway.Hosting;
using EventGateway.Manifests;
using EventGateway.Model;
using EventGateway.Store;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EventGateway.Tests.Support;

/// <summary>
/// The event side of the service in process: a real SQLite store and event log in a temporary
/// directory, and the EventSource host with its Kestrel listeners on 127.0.0.1.
/// </summary>
public sealed class EventTestHost : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private EventTestHost(string dataDir, ServiceProvider services)
    {
        DataDir = dataDir;
        _services = services;
    }

    public string DataDir { get; }
    public IResourceStore Store => _services.GetRequiredService<IResourceStore>();
    public IEventLog Log => _services.GetRequiredService<IEventLog>();
    public EventSourceHost Sources => _services.GetRequiredService<EventSourceHost>();
    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();

    public static async Task<EventTestHost> StartAsync(TimeProvider? time = null, string? dataDir = null, Action<EventGatewayOptions>? configure = null)
    {
        dataDir ??= Directory.CreateTempSubdirectory("egw-events-").FullName;
        var options = new EventGatewayOptions { DataDir = dataDir, EventListenAddress = "127.0.0.1" };
        configure?.Invoke(options);
        var services = new ServiceCollection();
        services.AddSingleton(LoggerFactory.Create(b => b.AddProvider(new FileLoggerProvider(Path.Combine(Path.GetTempPath(), "egw-test-warnings.log")))));
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        services.AddEventGateway(options);
        if (time is not null) services.AddSingleton(time);
        var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<EventSourceHost>().StartAsync(CancellationToken.None);
        return new EventTestHost(dataDir, provider);
    }

    /// <summary>Applies the YAML's documents and waits until every EventSource in it has all listeners listening (or failed).</summary>
    public async Task<IReadOnlyList<Resource>> ApplyAsync(string yaml, TimeSpan? within = null)
    {
        var docs = ManifestReader.Read(yaml, "test.yaml");
        await Store.ApplyAllAsync(docs);
        foreach (var es in docs.OfType<EventSource>()) await WaitListeningAsync(es.NamespaceOrDefault, es.Name, within);
        return docs;
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
        await _services.DisposeAsync();
    }
}
