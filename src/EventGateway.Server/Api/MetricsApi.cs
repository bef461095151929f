using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using EventGateway.Events.Log;
using EventGateway.Events.Sensors;
using EventGateway.Events.Sensors.State;
using EventGateway.Model;
using EventGateway.Workflows.Controller;
using EventGateway.Workflows.Store;
using EventGateway.Workflows.Telemetry;

namespace EventGateway.Server.Api;

/// <summary>GET /metrics: the service's counters in the Prometheus text format (sensors, controller, event log).</summary>
public static class MetricsApi
{
    public static IEndpointRouteBuilder MapMetricsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/metrics", async (IResourceStore store, ISensorStateStore state, SensorWorkflowGate gate, IEventLog log, WorkflowController controller,
                CustomMetrics custom, CancellationToken ct) =>
            Results.Text(await MetricsAsync(store, state, gate, log, controller.Metrics, ct) + Custom(custom), PrometheusText.ContentType));
        return app;
    }

    /// <summary>
    /// Sensor counts come from the state store, not the in-memory <see cref="SensorMetrics"/>: they are committed in the same
    /// transaction as the decisions they count, so they survive restarts and a replayed pass does not count twice, and
    /// /metrics agrees with <c>egw sensor get</c>. Sensors deleted from the store drop out of the exposition.
    /// </summary>
    internal static async Task<string> MetricsAsync(IResourceStore store, ISensorStateStore state, SensorWorkflowGate gate, IEventLog log, ControllerMetrics controller, CancellationToken ct)
    {
        var text = new PrometheusText();
        text.Family("eventgateway_sensor_events_total", "counter",
            "Events through each sensor stage by outcome; trigger=\"\" is the dependency stage (passed or filtered).");
        var sensors = (await store.ListAsync<Sensor>(null, ct)).Select(SensorHost.KeyOf).Distinct().Order(StringComparer.Ordinal);
        foreach (var sensor in sensors)
            foreach (var (trigger, byOutcome) in state.Counters(sensor).OrderBy(kv => kv.Key, StringComparer.Ordinal))
                foreach (var (outcome, n) in byOutcome.OrderBy(kv => Array.IndexOf(Outcomes.All, kv.Key)).ThenBy(kv => kv.Key, StringComparer.Ordinal))
                    text.Sample("eventgateway_sensor_events_total", n, ("sensor", sensor), ("trigger", trigger), ("outcome", outcome));
        text.Family("eventgateway_sensor_workflows_running", "gauge", "Workflows created by sensors that have not completed yet.")
            .Sample("eventgateway_sensor_workflows_running", gate.Running);
        text.Family("eventgateway_sensor_workflows_max", "gauge", "Cap on unfinished sensor workflows; further firings wait in the event log.")
            .Sample("eventgateway_sensor_workflows_max", gate.Max);
        text.Family("eventgateway_controller_reconciles_total", "counter", "Reconcile passes of the workflow controller.")
            .Sample("eventgateway_controller_reconciles_total", controller.Passes);
        text.Family("eventgateway_controller_reconcile_seconds_total", "counter", "Wall time spent in reconcile passes (operator pass and status save).")
            .Sample("eventgateway_controller_reconcile_seconds_total", controller.PassSeconds);
        text.Family("eventgateway_controller_step_results_total", "counter", "Step state changes (started, finished) taken in by reconcile passes.")
            .Sample("eventgateway_controller_step_results_total", controller.StepResults);
        text.Family("eventgateway_controller_status_saves_total", "counter", "Workflow status writes to the store.")
            .Sample("eventgateway_controller_status_saves_total", controller.StatusSaves);
        text.Family("eventgateway_controller_workflows_completed_total", "counter", "Workflows that reached Succeeded, Failed or Error since the service started.")
            .Sample("eventgateway_controller_workflows_completed_total", controller.WorkflowsCompleted);
        var stats = await log.StatsAsync(ct);
        text.Family("eventgateway_eventlog_events", "gauge", "Events held in the durable event log.")
            .Sample("eventgateway_eventlog_events", stats.Count);
        text.Family("eventgateway_eventlog_pending", "gauge", "Events accepted into the write queue and not yet durable.")
            .Sample("eventgateway_eventlog_pending", stats.Pending);
        return text.ToString();
    }

    /// <summary>The workflows' own metrics (spec.metrics, template metrics), named as Argo names them: argo_workflows_NAME.</summary>
    internal static string Custom(CustomMetrics custom)
    {
        var text = new PrometheusText();
        text.Family("eventgateway_custom_metric_errors_total", "counter", "Custom metric definitions that could not be recorded (see the service log for why).")
            .Sample("eventgateway_custom_metric_errors_total", custom.Errors);
        foreach (var f in custom.Snapshot())
        {
            text.Family(f.Name, f.Type, f.Help);
            foreach (var s in f.Series)
            {
                if (f.Type != "histogram") { text.Sample(f.Name, s.Value, [.. s.Labels]); continue; }
                for (var i = 0; i < f.Buckets!.Length; i++)
                    text.Sample(f.Name + "_bucket", s.BucketCounts![i], [.. s.Labels, ("le", f.Buckets[i].ToString("R", System.Globalization.CultureInfo.InvariantCulture))]);
                text.Sample(f.Name + "_bucket", s.Count, [.. s.Labels, ("le", "+Inf")]);
                text.Sample(f.Name + "_sum", s.Sum, [.. s.Labels]);
                text.Sample(f.Name + "_count", s.Count, [.. s.Labels]);
            }
        }
        return text.ToString();
    }
}
