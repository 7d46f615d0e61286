"""The node: pods as local processes, the service proxy, service names, images and apps."""
