using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EventGateway.Languages.Expr;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Workflows.Controller;

public sealed partial class WorkflowOperator
{
    // Pod nodes this operator has handed to the controller. A new operator (after a restart) hands every
    // unfinished Pod node over once more, and the executor adopts what is still running.
    private readonly HashSet<string> _handedOver = new(StringComparer.Ordinal);

    private static readonly string HostName = Environment.MachineName;

    /// <summary>Renders a container/script template for its node and hands it to the controller to run.</summary>
    private void RequestPod(NodeStatus node, Template tmpl, VariableScope scope)
    {
        if (!_handedOver.Add(node.Id)) return;
        foreach (var p in tmpl.Outputs?.Parameters ?? [])
            if (p.ValueFrom?.Path is { } path) scope[$"outputs.parameters.{p.Name}.path"] = path;
        foreach (var a in tmpl.Outputs?.Artifacts ?? [])
            if (a.Path is { } path) scope[$"outputs.artifacts.{a.Name}.path"] = path;

        Template rendered;
        try
        {
            rendered = RenderTemplate(tmpl, scope);
        }
        catch (Exception e) when (e is ExpressionException or UnresolvedVariableException)
        {
            Complete(node, NodePhase.Error, e is UnresolvedVariableException u ? $"failed to resolve {{{{{u.Name}}}}}" : e.Message);
            _activePods--;
            return;
        }
        var unresolved = Unresolved().Match(Json.Serialize(new { rendered.Container, rendered.Script, rendered.ContainerSet, rendered.Outputs, rendered.Memoize }));
        if (unresolved.Success)
        {
            Complete(node, NodePhase.Error, $"failed to resolve {unresolved.Value}");
            _activePods--;
            return;
        }

        var artifacts = new List<(string, Artifact)>();
        foreach (var a in node.Inputs?.Artifacts ?? [])
        {
            if (a.Path is not { } path) continue;
            // A key declared on the template's input may use its inputs: render it in the step's scope.
            if (a.S3?.Key is { } key && key.Contains("{{", StringComparison.Ordinal))
            {
                var keyed = Json.Clone(a);
                keyed.S3!.Key = scope.Render(key);
                artifacts.Add((path, keyed));
            }
            else artifacts.Add((path, a));
        }

        TimeSpan? deadline = null;
        if (rendered.ActiveDeadlineSeconds is { } ads)
        {
            if (!long.TryParse(ads, CultureInfo.InvariantCulture, out var secs))
            {
                Complete(node, NodePhase.Error, $"activeDeadlineSeconds '{ads}' is not an integer");
                _activePods--;
                return;
            }
            deadline = TimeSpan.FromSeconds(secs);
        }
        // A template timeout counts from the node's start: what is left of it bounds the process (Argo sets it as the
        // pod's activeDeadlineSeconds). An unparsable one fails the node in CheckTemplateTimeout.
        if (rendered.Timeout is { Length: > 0 } timeoutText && Durations.TryParse(timeoutText, out var timeout)
            && node.StartedAt!.Value + timeout - _now is var left && (deadline is null || left < deadline))
            deadline = left < TimeSpan.Zero ? TimeSpan.Zero : left;
        _pods.Add(new PodRequest(node.Id, node.Name, rendered, artifacts, deadline));
    }

    /// <summary>Substitutes {{...}} in every string of the template, as Argo does over the template's JSON.</summary>
    private static Template RenderTemplate(Template tmpl, VariableScope scope)
    {
        var json = JsonSerializer.SerializeToNode(tmpl, Json.Options)!;
        var rendered = RenderNode(json, scope);
        return rendered.Deserialize<Template>(Json.Lenient)!;
    }

    private static JsonNode? RenderNode(JsonNode? node, VariableScope scope)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Select(p => p.Key).ToList())
                {
                    // Step and task bodies belong to their own scopes; a pod template has none.
                    var value = o[key];
                    var r = RenderNode(value, scope);
                    if (!ReferenceEquals(r, value)) o[key] = r;
                }
                return o;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    var value = a[i];
                    var r = RenderNode(value, scope);
                    if (!ReferenceEquals(r, value)) a[i] = r;
                }
                return a;
            case JsonValue v when v.TryGetValue<string>(out var s) && s.Contains("{{", StringComparison.Ordinal):
                return JsonValue.Create(scope.Render(s));
            default:
                return node;
        }
    }

    private void ApplyPodResult(PodResult r)
    {
        if (Status.Nodes!.GetValueOrDefault(r.NodeId) is not { } node || node.Fulfilled) return;
        if (r.Phase != NodePhase.Pending) node.HostNodeName ??= HostName; // Argo's k8s node: here, this machine
        if (r.Phase == NodePhase.Running)
        {
            if (r.Daemoned)
            {
                (node.Daemoned, node.PodIP) = (true, r.PodIP);
                Daemons.Add(node.Id);
                return;
            }
            node.Phase = NodePhase.Running;
            node.StartedAt = Truncate(r.StartedAt);
            node.Message = null;
            return;
        }
        if (r.Phase == NodePhase.Pending)
        {
            node.Message = r.Message;
            return;
        }
        node.Phase = r.Phase;
        node.Message = r.Message;
        node.Daemoned = null;
        node.StartedAt = Truncate(r.StartedAt);
        node.FinishedAt = Truncate(r.FinishedAt);
        node.Outputs = r.Outputs;
        node.MemoizationStatus = r.Memoization;
        ExportGlobalOutputs(r.Outputs);
        if (node.Type == NodeType.Pod) CompleteContainers(node);
    }

    /// <summary>Output parameters and artifacts with a globalName become workflow outputs.</summary>
    private void ExportGlobalOutputs(Outputs? outputs)
    {
        if (outputs is null) return;
        foreach (var p in outputs.Parameters ?? [])
        {
            if (p.GlobalName is not { Length: > 0 } g) continue;
            Status.Outputs ??= new Outputs();
            Status.Outputs.Parameters ??= [];
            Status.Outputs.Parameters.RemoveAll(x => x.Name == g);
            Status.Outputs.Parameters.Add(new Parameter { Name = g, Value = p.Value });
        }
        foreach (var a in outputs.Artifacts ?? [])
        {
            if (a.GlobalName is not { Length: > 0 } g) continue;
            Status.Outputs ??= new Outputs();
            Status.Outputs.Artifacts ??= [];
            Status.Outputs.Artifacts.RemoveAll(x => x.Name == g);
            Status.Outputs.Artifacts.Add(new Artifact { Name = g, Path = a.Path, Local = a.Local, S3 = a.S3, Archive = a.Archive });
        }
    }

    [GeneratedRegex(@"\{\{\s*=?\s*(inputs|outputs|steps|tasks|workflow|item|pod|node|retries|lastRetry)\b[^}]*\}\}")]
    private static partial Regex Unresolved();
}
