using EventGateway.Languages;
using EventGateway.Languages.Expr;
using EventGateway.Languages.Jq;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Agent;

namespace EventGateway.Workflows.Validation;

/// <summary>What can be known about http and resource templates before they run; text with {{...}} is checked when rendered.</summary>
public sealed partial class WorkflowValidator
{
    private static void ValidateHttpAndResource(Template t, string at, Action<string, string> fail)
    {
        if (t.Http is { } http) ValidateHttp(http, $"{at}.http", fail);
        if (t.Resource is { } resource) ValidateResource(resource, t.Outputs, at, fail);
    }

    private static bool Templated(string? text) => text?.Contains("{{", StringComparison.Ordinal) == true;

    private static void ValidateHttp(HttpTemplate h, string at, Action<string, string> fail)
    {
        if (string.IsNullOrEmpty(h.Url)) fail($"{at}.url", "missing: the URL to call");
        else if (!Templated(h.Url) && !(Uri.TryCreate(h.Url, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"))
            fail($"{at}.url", $"'{h.Url}' is not an absolute http or https URL");
        if (h.Method is { } m && !Templated(m) && (m.Length == 0 || !m.All(char.IsAsciiLetter)))
            fail($"{at}.method", $"'{m}' is not an HTTP method");
        for (var i = 0; i < (h.Headers?.Count ?? 0); i++)
        {
            var header = h.Headers![i];
            var hat = $"{at}.headers[{i}]";
            if (string.IsNullOrEmpty(header.Name)) fail($"{hat}.name", "missing: every header needs a name");
            if (header.Value is not null && header.ValueFrom is not null) fail(hat, "set value or valueFrom, not both");
            if (header.ValueFrom is { } from)
            {
                if (from.SecretKeyRef is not { } sref) fail($"{hat}.valueFrom.secretKeyRef", "missing: a header's valueFrom reads a Secret");
                else
                {
                    if (string.IsNullOrEmpty(sref.Name)) fail($"{hat}.valueFrom.secretKeyRef.name", "missing: name the Secret");
                    if (string.IsNullOrEmpty(sref.Key)) fail($"{hat}.valueFrom.secretKeyRef.key", "missing: name the key in the Secret");
                }
            }
        }
        if (h.Body is not null && h.BodyFrom is not null) fail(at, "set body or bodyFrom, not both");
        if (h.BodyFrom?.Bytes is { } bytes && !Convert.TryFromBase64String(bytes, new byte[bytes.Length], out _))
            fail($"{at}.bodyFrom.bytes", "not base64");
        if (h.TimeoutSeconds is <= 0) fail($"{at}.timeoutSeconds", "must be at least 1");
        if (h.SuccessCondition is { } cond && !Templated(cond))
        {
            try { ArgoExpression.Check(cond); }
            catch (ExpressionException e) { fail($"{at}.successCondition", $"'{cond}' is not a valid expression: {e.Reason}"); }
        }
    }

    private static void ValidateResource(ResourceTemplate r, Outputs? outputs, string tat, Action<string, string> fail)
    {
        var at = $"{tat}.resource";
        var actions = string.Join(", ", ResourceTemplateRunner.Actions);
        if (string.IsNullOrEmpty(r.Action)) fail($"{at}.action", $"missing: one of {actions}");
        else if (!ResourceTemplateRunner.Actions.Contains(r.Action)) fail($"{at}.action", $"'{r.Action}' is not one of {actions}");
        if (r.MergeStrategy is { } ms && !ResourceTemplateRunner.MergeStrategies.Contains(ms))
            fail($"{at}.mergeStrategy", $"'{ms}' is not one of {string.Join(", ", ResourceTemplateRunner.MergeStrategies)}");
        if (r.Flags is { Count: > 0 } && !(r.Action == "patch" && r.MergeStrategy == "json"))
            fail($"{at}.flags", "kubectl arguments are not understood here; flags only name a JSON patch's target: [KIND, NAME]");
        if (r.ManifestFrom is not null) fail($"{at}.manifestFrom", "not supported here: put the manifest in resource.manifest");
        else if (string.IsNullOrWhiteSpace(r.Manifest)) fail($"{at}.manifest", "missing: the object to act on");
        else if (!Templated(r.Manifest)) ValidateResourceManifest(r, at, fail);
        foreach (var (cond, field) in new[] { (r.SuccessCondition, "successCondition"), (r.FailureCondition, "failureCondition") })
        {
            if (cond is not { Length: > 0 } || Templated(cond)) continue;
            try { ResourceCondition.Parse(cond); }
            catch (FormatException e) { fail($"{at}.{field}", e.Message); }
        }
        for (var i = 0; i < (outputs?.Parameters?.Count ?? 0); i++)
        {
            var vf = outputs!.Parameters![i].ValueFrom;
            var pat = $"{tat}.outputs.parameters[{i}].valueFrom";
            if (vf?.Path is not null) fail($"{pat}.path", "a resource template has no files: read the object with jsonPath or jqFilter");
            if (vf?.JqFilter is { } jq && !Templated(jq))
            {
                try { JqProgram.Parse(jq); }
                catch (TransformException e) { fail($"{pat}.jqFilter", $"'{jq}' is not a valid jq filter: {e.Message}"); }
            }
        }
    }

    private static void ValidateResourceManifest(ResourceTemplate r, string at, Action<string, string> fail)
    {
        List<YamlToJson.Document> docs;
        try { docs = YamlToJson.Convert(r.Manifest!); }
        catch (YamlToJson.SyntaxError e) { fail($"{at}.manifest", $"not valid YAML: {e.Message}"); return; }
        if (docs.Count != 1) { fail($"{at}.manifest", $"must hold exactly one object, not {docs.Count}"); return; }
        var node = System.Text.Json.Nodes.JsonNode.Parse(docs[0].Json);
        if (node is System.Text.Json.Nodes.JsonArray)
        {
            if (r.MergeStrategy != "json") fail($"{at}.manifest", "a list is a JSON patch: set mergeStrategy: json and action: patch");
            return;
        }
        if (node is not System.Text.Json.Nodes.JsonObject o) { fail($"{at}.manifest", "must be an object with apiVersion, kind and metadata"); return; }
        var kind = o["kind"]?.ToString();
        if (kind is null) fail($"{at}.manifest", "missing kind");
        else if (!Resources.Kinds.ContainsKey(kind) && !ResourceKinds.AnyKind)
            fail($"{at}.manifest", ResourceTemplateRunner.UnknownKind(kind));
        if (o["metadata"]?["name"] is null && !(r.Action == "create" && o["metadata"]?["generateName"] is not null))
            fail($"{at}.manifest", "missing metadata.name");
    }
}
