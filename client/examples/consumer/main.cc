// Reads a Markdown article, stores it in contentd and reads it back:
//   consumer SERVER FILE.md ID
#include <fstream>
#include <iostream>
#include <sstream>

#include "content/client.h"
#include "content/markdown.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: consumer SERVER FILE.md ID\n";
    return 2;
  }
  std::ifstream in(argv[2]);
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<content::v1::Article> article =
      content::ParseMarkdown(text.str());
  if (!article.ok()) {
    std::cerr << "parse: " << article.status() << "\n";
    return 1;
  }

  content::ClientOptions options;
  options.target = argv[1];
  absl::StatusOr<std::unique_ptr<content::Client>> client =
      content::Client::Connect(options);
  if (!client.ok()) {
    std::cerr << "connect: " << client.status() << "\n";
    return 1;
  }
  content::v1::CreateArticleRequest create;
  create.set_article_id(argv[3]);
  *create.mutable_article() = *article;
  absl::StatusOr<content::v1::Article> created =
      (*client)->CreateArticle(create);
  if (!created.ok()) {
    std::cerr << "create: " << created.status() << "\n";
    return 1;
  }
  absl::StatusOr<content::v1::Article> got = (*client)->Get(argv[3]);
  if (!got.ok()) {
    std::cerr << "get: " << got.status() << "\n";
    return 1;
  }
  std::cout << got->name() << " revision " << got->revision() << ": "
            << got->title() << "\n";
  return 0;
}
