#include <iostream>

#include "framework/builtins.hpp"

int main() {
  for (auto* e : nmlab::builtins().solvers.entries()) std::cout << e->name << "\n";
  return 0;
}
