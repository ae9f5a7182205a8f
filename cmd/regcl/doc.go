// Command regcl trains dense networks on MNIST to compare regularization methods.
package main
