using Shouldly;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;

namespace EventGateway.Tests.Events.Sensors;

/// <summary>Dependency transforms are compiled when the Sensor loads; errors name the jq or script field.</summary>
public sealed class TransformValidationTests
{
    private const string Sensor = """
        apiVersion: argoproj.io/v1alpha1
        kind: Sensor
        metadata: {name: ci}
        spec:
          dependencies:
            - name: push
              eventSourceName: github
              eventName: push
              TRANSFORM
          triggers:
            - template:
                name: log
                log: {}
        """;

    private static IReadOnlyList<string> Errors(string transform)
    {
        try
        {
            ManifestReader.Read(Sensor.Replace("TRANSFORM", transform, StringComparison.Ordinal), "sensor.yaml");
            return [];
        }
        catch (ManifestException e)
        {
            return e.Errors.Select(x => $"{x.Path}: {x.Reason}").ToList();
        }
    }

    [Theory]
    [InlineData("transform: {jq: '{a: .body.x}'}")]
    [InlineData("transform: {script: 'event.x = 1 return event'}")]
    [InlineData("transform: {jq: '.', script: 'return event'}")]
    [InlineData("filters: {script: 'return event.a == 1'}")]
    public void Valid_transforms_and_scripts_load(string transform)
    {
        Errors(transform).ShouldBeEmpty();
        var sensor = ManifestReader.Read(Sensor.Replace("TRANSFORM", transform, StringComparison.Ordinal), "sensor.yaml").OfType<Sensor>().Single();
        (sensor.Spec.Dependencies![0].Transform is not null || sensor.Spec.Dependencies![0].Filters?.Script is not null).ShouldBeTrue();
    }

    [Theory]
    [InlineData("transform: {jq: '.body |'}", "spec.dependencies[0].transform.jq: cannot parse jq: syntax error: unexpected end of program, expected a value or filter (at position 7)")]
    [InlineData("transform: {jq: 'nosuch(.a)'}", "spec.dependencies[0].transform.jq: cannot parse jq: nosuch/1 is not defined (at position 0)")]
    [InlineData("transform: {script: 'return {'}", "spec.dependencies[0].transform.script: cannot compile Lua script: script:1: unexpected symbol near <eof>")]
    [InlineData("transform: {jq: '', script: ''}", "spec.dependencies[0].transform: set jq or script")]
    [InlineData("transform: {}", "spec.dependencies[0].transform: set jq or script")]
    [InlineData("filters: {script: 'if x then'}", "spec.dependencies[0].filters.script: cannot compile Lua script: script:1: 'end' expected near <eof>")]
    public void Bad_transforms_are_refused_at_their_path(string transform, string expected) =>
        Errors(transform).ShouldBe([expected]);
}
