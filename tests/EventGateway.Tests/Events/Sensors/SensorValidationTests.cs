using Shouldly;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;

namespace EventGateway.Tests.Events.Sensors;

/// <summary>A Sensor is checked at load with field paths; what cannot run here is refused by name.</summary>
public sealed class SensorValidationTests
{
    private const string Valid = """
        apiVersion: argoproj.io/v1alpha1
        kind: Sensor
        metadata: {name: ci}
        spec:
          dependencies:
            - name: push
              eventSourceName: github
              eventName: push
              filters:
                data: [{path: body.ref, type: string, value: ["refs/heads/main"]}]
            - {name: tag, eventSourceName: github, eventName: tag}
          triggers:
            - template:
                name: build
                conditions: "push || (tag && !push)"
                argoWorkflow:
                  operation: submit
                  source: {resource: {apiVersion: argoproj.io/v1alpha1, kind: Workflow, metadata: {generateName: ci-}}}
              parameters:
                - src: {dependencyName: push, dataKey: body.ref}
                  dest: spec.arguments.parameters.0.value
              rateLimit: {unit: Second, requestsPerUnit: 5}
        """;

    private static IReadOnlyList<string> Errors(string yaml)
    {
        try
        {
            ManifestReader.Read(yaml, "sensor.yaml");
            return [];
        }
        catch (ManifestException e)
        {
            return e.Errors.Select(x => $"{x.Path}: {x.Reason}").ToList();
        }
    }

    [Fact]
    public void A_valid_sensor_loads_typed()
    {
        var sensor = ManifestReader.Read(Valid, "sensor.yaml").OfType<Sensor>().Single();
        sensor.Spec.Dependencies!.Select(d => d.Name).ShouldBe(["push", "tag"]);
        sensor.Spec.Dependencies![0].Filters!.Data!.Single().Path.ShouldBe("body.ref");
        sensor.Spec.Triggers!.Single().Parameters!.Single().Src!.DataKey.ShouldBe("body.ref");
        sensor.Spec.Triggers!.Single().RateLimit!.RequestsPerUnit.ShouldBe(5);
    }

    [Theory]
    [InlineData("conditions: \"push || (tag && !push)\"", "conditions: \"push || deploy\"", "spec.triggers[0].template.conditions: 'deploy' is not a dependency of this Sensor (known: push, tag)")]
    [InlineData("conditions: \"push || (tag && !push)\"", "conditions: \"push + tag\"", "spec.triggers[0].template.conditions: 'push + tag' is not a condition: unexpected text at offset 5; use dependency names with &&, ||, ! and parentheses")]
    [InlineData("operation: submit", "operation: launch", "spec.triggers[0].template.argoWorkflow.operation: 'launch' is not one of submit, submit-from, resubmit, retry, resume, suspend, terminate, stop")]
    [InlineData("dependencyName: push, dataKey", "dependencyName: pull, dataKey", "spec.triggers[0].parameters[0].src.dependencyName: 'pull' is not a dependency of this Sensor")]
    [InlineData("dest: spec.arguments.parameters.0.value", "operation: merge", "spec.triggers[0].parameters[0].dest: missing: where to write the value, e.g. spec.arguments.parameters.0.value")]
    [InlineData("unit: Second", "unit: Day", "spec.triggers[0].rateLimit.unit: 'Day' is not one of Second, Minute, Hour")]
    [InlineData("requestsPerUnit: 5", "requestsPerUnit: 0", "spec.triggers[0].rateLimit.requestsPerUnit: must be a positive number of triggers per unit")]
    [InlineData("name: tag, eventSourceName", "name: push, eventSourceName", "spec.dependencies[1].name: dependency 'push' is declared twice")]
    [InlineData("type: string, value", "type: text, value", "spec.dependencies[0].filters.data[0].type: type \"text\" is not valid: use string, number or bool")]
    [InlineData("eventName: tag}", "eventName: tag, transform: {jq: '.body |'}}", "spec.dependencies[1].transform.jq: cannot parse jq: syntax error: unexpected end of program, expected a value or filter (at position 7)")]
    [InlineData("name: build", "name: build\n        slack: {channel: ci}", "spec.triggers[0].template.slack: trigger type 'slack' is not supported here; supported: argoWorkflow, k8s, http, kafka, log")]
    [InlineData("argoWorkflow:", "k8s: {operation: create, source: {resource: {}}}\n        argoWorkflow:", "spec.triggers[0].template: one trigger kind per trigger, found argoWorkflow and k8s")]
    public void Bad_fields_are_refused_with_their_path(string from, string to, string expected)
    {
        var yaml = Valid.Replace(from, to, StringComparison.Ordinal);
        yaml.ShouldNotBe(Valid);
        Errors(yaml).ShouldContain(expected, string.Join("\n", Errors(yaml)));
    }

    [Fact]
    public void A_sensor_needs_dependencies_and_triggers() =>
        Errors("apiVersion: argoproj.io/v1alpha1\nkind: Sensor\nmetadata: {name: s}\nspec: {}\n").ShouldBe(
        [
            "spec.dependencies: missing: a Sensor needs at least one dependency",
            "spec.triggers: missing: a Sensor needs at least one trigger",
        ]);
}
