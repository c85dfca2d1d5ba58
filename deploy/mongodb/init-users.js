// Creates one MongoDB user per Suara service, with readWrite on that service's own database
// only: a service cannot read or write another service's data.
//
// The mongo image runs this file once, as the root user, when the data volume is empty
// (/docker-entrypoint-initdb.d/). The passwords come from the environment of the mongodb
// container (SUARA_<SERVICE>_DB_PASSWORD, set in docker-compose.yml with the same defaults as
// the services' SUARA_<SERVICE>_MONGO_URI). To change a password later, see
// deploy/rabbitmq/README.md ("MongoDB users").

const services = ["intake", "categorization", "notification", "reporting"];

for (const service of services) {
  const variable = `SUARA_${service.toUpperCase()}_DB_PASSWORD`;
  const password = process.env[variable];
  if (!password) {
    throw new Error(`${variable} is not set in the mongodb container's environment`);
  }
  const database = db.getSiblingDB(service);
  const roles = [{ role: "readWrite", db: service }];
  if (database.getUser(service)) {
    database.updateUser(service, { pwd: password, roles: roles });
    print(`suara: updated MongoDB user ${service} (readWrite on ${service})`);
  } else {
    database.createUser({ user: service, pwd: password, roles: roles });
    print(`suara: created MongoDB user ${service} (readWrite on ${service})`);
  }
}
