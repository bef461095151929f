using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using EventGateway.Events.Log;
using EventGateway.Events.Sensors.Triggers;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Store;

namespace EventGateway.Tests.Events.Sensors;

/// <summary>
/// What trigger tests share: a real SQLite store in a temp directory holding Secrets, the SecretResolver over it,
/// real HttpClients, a fake clock and a logger that keeps every entry. Sensors are read from YAML with the
/// service's JSON dialect, so trigger JSON has exactly the shape a manifest gives it.
/// </summary>
public sealed class TriggerTestKit : IDisposable
{
    public static readonly DateTimeOffset Start = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("egw-trig-");

    public TriggerTestKit()
    {
        Store = new SqliteResourceStore(Path.Combine(_dir.FullName, "store.db"), Time);
        Secrets = new SecretResolver(Store);
        Context = new TriggerContext(Store, Secrets, Http, Time, Logger);
    }

    public FakeTimeProvider Time { get; } = new(Start);
    public SqliteResourceStore Store { get; }
    public SecretResolver Secrets { get; }
    public TriggerHttpClients Http { get; } = new();
    public CapturingLogger Logger { get; } = new();
    public TriggerContext Context { get; }

    public async Task AddSecretAsync(string name, params (string Key, string Value)[] values)
    {
        var secret = new Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = new ObjectMeta { Name = name, Namespace = Resources.DefaultNamespace },
            Data = values.ToDictionary(v => v.Key, v => Convert.ToBase64String(Encoding.UTF8.GetBytes(v.Value))),
        };
        await Store.ApplyAsync(secret);
    }

    /// <summary>A Sensor from YAML (its spec only is validated by the triggers, not by the manifest loader).</summary>
    public static Sensor Sensor(string yaml)
    {
        var doc = YamlToJson.Convert(yaml).Single();
        return JsonSerializer.Deserialize<Sensor>(doc.Json, Json.Options)!;
    }

    public static TriggerFiring Firing(Sensor sensor, IReadOnlyDictionary<string, CloudEvent> events, int trigger = 0) =>
        new(sensor, sensor.Spec.Triggers![trigger], events, "dedup-1", [1]);

    public static CloudEvent Event(string id, string json, string source = "webhook", string subject = "order") =>
        new(id, source, "webhook", subject, Start, Encoding.UTF8.GetBytes(json));

    public void Dispose()
    {
        Http.Dispose();
        Secrets.Dispose();
        Store.Dispose();
        _dir.Delete(recursive: true);
    }
}

/// <summary>Keeps every log entry with its structured fields, for asserting what was (and was not) logged.</summary>
public sealed class CapturingLogger : ILogger
{
    public sealed record Entry(LogLevel Level, string Message, IReadOnlyDictionary<string, object?> Fields);

    private readonly Lock _gate = new();
    private readonly List<Entry> _entries = [];

    public IReadOnlyList<Entry> Entries
    {
        get { lock (_gate) return _entries.ToList(); }
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var fields = state is IEnumerable<KeyValuePair<string, object?>> pairs
            ? pairs.Where(p => p.Key != "{OriginalFormat}").ToDictionary(p => p.Key, p => p.Value)
            : new Dictionary<string, object?>();
        lock (_gate) _entries.Add(new Entry(logLevel, formatter(state, exception), fields));
    }
}
