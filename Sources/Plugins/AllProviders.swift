import PluginAPI

/// Every provider compiled into the hub: one line each. `plugins.json` decides which are enabled.
public let allProviders: [any Provider.Type] = [
    SlackProvider.self,
    HubSpotProvider.self,
    GenericProvider.self,
    GmailProvider.self,
    TeamsProvider.self,
    SearchProvider.self,
]
