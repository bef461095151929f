using EventGateway.Events.EventSources;
using EventGateway.Events.Sensors;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Validation;

namespace EventGateway.Server.Hosting;

/// <summary>
/// Reads manifests of every kind this service runs, each checked by the validator its feature owns.
/// The one place that knows all of them: the composition root.
/// </summary>
public static class ManifestReader
{
    public static ManifestValidator Validator { get; } = new([WorkflowValidator.Instance, EventSourceValidator.Instance, SensorValidator.Instance]);

    public static ManifestParser Parser { get; } = new(Validator);

    /// <summary>Kubernetes mode: objects from the cluster, whose k8s triggers and resource templates may name any kind the cluster serves.</summary>
    public static ManifestParser ClusterParser { get; } = new(new ManifestValidator([ResourceKinds.InCluster, EventSourceValidator.Instance, SensorValidator.InCluster]));

    private static readonly ManifestParser PodsParser =
        new(new ManifestValidator([PodOnlyFields.Accepting(WorkflowValidator.Instance), EventSourceValidator.Instance, SensorValidator.Instance]));
    private static readonly ManifestParser ClusterPodsParser =
        new(new ManifestValidator([PodOnlyFields.Accepting(ResourceKinds.InCluster), EventSourceValidator.Instance, SensorValidator.InCluster]));

    /// <summary>The service's parser: Kubernetes mode's kinds with <paramref name="cluster"/>, pod-only fields when steps are pods.</summary>
    public static ManifestParser ParserFor(bool cluster, bool pods) => (cluster, pods) switch
    {
        (false, false) => Parser,
        (true, false) => ClusterParser,
        (false, true) => PodsParser,
        (true, true) => ClusterPodsParser,
    };

    public static IReadOnlyList<Resource> ReadFile(string path) => Parser.ReadFile(path);

    public static IReadOnlyList<Resource> Read(string text, string source = "<input>") => Parser.Read(text, source);

    /// <summary>One manifest already parsed as JSON (an API request's body).</summary>
    public static Resource ReadJson(System.Text.Json.Nodes.JsonNode json, string source) => Parser.ReadJson(json, source);

    public static (IReadOnlyList<Resource> Valid, IReadOnlyList<ManifestError> Errors) ReadEach(string text, string source = "<input>") =>
        Parser.ReadEach(text, source);
}
