// store-server: see ServerLauncher for the composition.
import Foundation
import StoreServerCore

let code = await ServerLauncher.run(arguments: Array(CommandLine.arguments.dropFirst()),
                                    environment: ProcessInfo.processInfo.environment)
exit(code)
