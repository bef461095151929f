using System.Text;
using System.Text.Json;
using Shouldly;
using EventGateway.Events.Log;
using EventGateway.Events.Sensors.Parameters;
using EventGateway.Model;

namespace EventGateway.Tests.Events.Sensors;

public class PayloadBuilderTests
{
    private const string Order = """
        {"body": {"id": "o-1", "total": 12.50, "count": 3, "paid": true, "note": null,
                  "items": [{"sku": "a", "n": 2}], "customer": {"name": "Zoë", "tag": "<vip> & \"gold\""}}}
        """;

    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    private static readonly Dictionary<string, CloudEvent> Events = new()
    {
        ["order"] = TriggerTestKit.Event("ev-1", Order),
    };

    private static List<TriggerParameter> Params(string json) => JsonSerializer.Deserialize<List<TriggerParameter>>(json, Web)!;

    private static string Build(string parameters) => Encoding.UTF8.GetString(PayloadBuilder.Build(Params(parameters), Events));

    [Fact]
    public void Values_are_strings_unless_a_non_string_match_is_taken_raw()
    {
        Build("""
            [{"src": {"dependencyName": "order", "dataKey": "body.id"}, "dest": "id"},
             {"src": {"dependencyName": "order", "dataKey": "body.total"}, "dest": "total"},
             {"src": {"dependencyName": "order", "dataKey": "body.count", "useRawData": true}, "dest": "count"},
             {"src": {"dependencyName": "order", "dataKey": "body.paid", "useRawData": true}, "dest": "paid"},
             {"src": {"dependencyName": "order", "dataKey": "body.note", "useRawData": true}, "dest": "note"},
             {"src": {"dependencyName": "order", "dataKey": "body.items", "useRawData": true}, "dest": "items"},
             {"src": {"dependencyName": "order", "dataKey": "body.items"}, "dest": "itemsText"},
             {"src": {"dependencyName": "order", "dataKey": "body.id", "useRawData": true}, "dest": "idRaw"}]
            """).ShouldBe("""
            {"id":"o-1","total":"12.5","count":3,"paid":true,"note":null,"items":[{"sku":"a","n":2}],"itemsText":"[{\"sku\": \"a\", \"n\": 2}]","idRaw":"o-1"}
            """);
    }

    [Fact]
    public void Dest_paths_nest_objects_index_and_append_to_arrays()
    {
        Build("""
            [{"src": {"dependencyName": "order", "dataKey": "body.id"}, "dest": "order.ref.id"},
             {"src": {"dependencyName": "order", "value": "x"}, "dest": "tags.1"},
             {"src": {"dependencyName": "order", "value": "y"}, "dest": "tags.-1"},
             {"src": {"dependencyName": "order", "contextKey": "id"}, "dest": "order.event"},
             {"src": {"dependencyName": "order", "dataTemplate": "{{ .Input.body.customer.name | upper }}"}, "dest": "who\\.name"}]
            """).ShouldBe("""
            {"order":{"ref":{"id":"o-1"},"event":"ev-1"},"tags":[null,"x","y"],"who.name":"ZOË"}
            """);
    }

    [Fact]
    public void Text_keeps_non_ascii_and_html_characters_readable()
    {
        Build("""[{"src": {"dependencyName": "order", "dataKey": "body.customer.tag"}, "dest": "tag"}]""")
            .ShouldBe("""{"tag":"<vip> & \"gold\""}""");
    }

    [Fact]
    public void An_empty_dest_makes_the_value_the_whole_body_and_ends_the_construction()
    {
        Build("""
            [{"src": {"dependencyName": "order", "value": "first"}, "dest": "a"},
             {"src": {"dependencyName": "order", "dataKey": "body.customer"}, "dest": ""},
             {"src": {"dependencyName": "order", "dataKey": "body.missing"}, "dest": "never"}]
            """).ShouldBe("""{"name": "Zoë", "tag": "<vip> & \"gold\""}""");
    }

    [Fact]
    public void Without_an_event_or_default_a_parameter_is_skipped()
    {
        Build("""
            [{"src": {"dependencyName": "refund", "dataKey": "body.id"}, "dest": "refund"},
             {"src": {"dependencyName": "refund", "dataKey": "body.id", "value": "none"}, "dest": "refundOrDefault"},
             {"src": {"dependencyName": "order", "dataKey": "body.id"}, "dest": "order"}]
            """).ShouldBe("""{"refundOrDefault":"none","order":"o-1"}""");
        Build("""[{"src": {"dependencyName": "refund", "dataKey": "body.id"}, "dest": "refund"}]""").ShouldBe("{}");
    }

    [Fact]
    public void Without_parameters_the_body_is_empty_as_in_argo()
    {
        PayloadBuilder.Build(null, Events).ShouldBeEmpty();
        PayloadBuilder.Build([], Events).ShouldBeEmpty();
    }

    [Theory]
    [InlineData("""[{"src": {"dependencyName": "order", "value": "v"}, "dest": "ok"}, {"src": {"dependencyName": "order", "dataKey": "body.missing"}, "dest": "x"}]""",
        1, "parameters[1]: unable to resolve the value from dependency \"order\": dataKey \"body.missing\" does not exist in the event data and no default value is set")]
    [InlineData("""[{"dest": "x"}]""", 0, "parameters[0]: src is required")]
    [InlineData("""[{"src": {"dependencyName": "order", "value": "v"}, "dest": "ok"}, {"src": {"dependencyName": "order", "value": "v"}, "dest": "a|b"}]""",
        1, "parameters[1]: dest \"a|b\": '|' (gjson query/wildcard syntax) is not supported in a destination path")]
    [InlineData("""[{"src": {"dependencyName": "order", "value": "v"}, "dest": "list.0"}, {"src": {"dependencyName": "order", "value": "v"}, "dest": "list.name"}]""",
        1, "parameters[1]: dest \"list.name\": cannot set array element for non-numeric key 'name'")]
    public void A_parameter_that_fails_is_named_by_its_index(string parameters, int index, string message)
    {
        var e = Should.Throw<ParameterException>(() => PayloadBuilder.Build(Params(parameters), Events));
        e.Index.ShouldBe(index);
        e.Message.ShouldBe(message);
    }
}
