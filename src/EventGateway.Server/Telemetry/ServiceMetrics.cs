using EventGateway.Events.Log;
using EventGateway.Events.Sensors;
using EventGateway.Events.Sensors.State;
using EventGateway.Model;
using EventGateway.Workflows.Store;
using Prometheus;

namespace EventGateway.Server.Telemetry;

/// <summary>
/// The host's Prometheus registry and the values it reads from elsewhere just before each scrape: per-stage sensor counts
/// from the state store, sensor workflow gauges and the event log's size. prometheus-net was chosen over OpenTelemetry's
/// Prometheus exporter because its registries are per instance (OpenTelemetry's MeterProvider listens to every Meter of a
/// name in the process, so two engines in one process would mix their counts), it writes names exactly as given (Argo
/// writes its own without the exporter's unit and <c>_total</c> suffixes), it has Argo Events' summary type, and it is a
/// stable release where the exporter is a beta. Traces use OpenTelemetry (see <see cref="OtlpTracing"/>).
/// </summary>
public sealed class ServiceMetrics
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly CollectorRegistry _registry;
    private readonly Counter _sensorEvents;
    private readonly HashSet<(string, string, string)> _exposed = [];
    private readonly SemaphoreSlim _refresh = new(1, 1);

    public ServiceMetrics(CollectorRegistry registry, IResourceStore store, ISensorStateStore state, SensorWorkflowGate gate, IEventLog log)
    {
        _registry = registry;
        var f = Prometheus.Metrics.WithCustomRegistry(registry);
        _sensorEvents = f.CreateCounter("eventgateway_sensor_events_total",
            "Events through each sensor stage by outcome; trigger=\"\" is the dependency stage (passed or filtered).", "sensor", "trigger", "outcome");
        var running = f.CreateGauge("eventgateway_sensor_workflows_running", "Workflows created by sensors that have not completed yet.");
        var max = f.CreateGauge("eventgateway_sensor_workflows_max", "Cap on unfinished sensor workflows; further firings wait in the event log.");
        var events = f.CreateGauge("eventgateway_eventlog_events", "Events held in the durable event log.");
        var pending = f.CreateGauge("eventgateway_eventlog_pending", "Events accepted into the write queue and not yet durable.");
        registry.AddBeforeCollectCallback(async ct =>
        {
            // Sensor counts come from the state store, committed in the same transaction as the decisions they count: they
            // survive restarts, a replayed pass does not count twice, and /metrics agrees with `egw sensor get`.
            await _refresh.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                await SensorCountsAsync(store, state, ct).ConfigureAwait(false);
                running.Set(gate.Running);
                max.Set(gate.Max);
                var stats = await log.StatsAsync(ct).ConfigureAwait(false);
                events.Set(stats.Count);
                pending.Set(stats.Pending);
            }
            finally
            {
                _refresh.Release();
            }
        });
    }

    /// <summary>Writes every metric in the Prometheus text format (0.0.4).</summary>
    public Task WriteAsync(Stream to, CancellationToken ct) => _registry.CollectAndExportAsTextAsync(to, ct);

    /// <summary>Sensors deleted from the store drop out of the exposition; their history stays in the state store.</summary>
    private async Task SensorCountsAsync(IResourceStore store, ISensorStateStore state, CancellationToken ct)
    {
        var now = new HashSet<(string, string, string)>();
        foreach (var sensor in (await store.ListAsync<Sensor>(null, ct).ConfigureAwait(false)).Select(SensorHost.KeyOf).Distinct())
            foreach (var (trigger, byOutcome) in state.Counters(sensor))
                foreach (var (outcome, n) in byOutcome)
                {
                    _sensorEvents.WithLabels(sensor, trigger, outcome).IncTo(n);
                    now.Add((sensor, trigger, outcome));
                }
        foreach (var gone in _exposed.Where(e => !now.Contains(e)).ToList()) _sensorEvents.RemoveLabelled(gone.Item1, gone.Item2, gone.Item3);
        _exposed.Clear();
        _exposed.UnionWith(now);
    }
}
