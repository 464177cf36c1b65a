// Vendure for cs-console's integration tests: plain CommonJS, sql.js (no native
// build), in-memory job queue, bound to 127.0.0.1. Everything variable comes from
// the environment that tests/realbackends/vendure_server.py sets.
'use strict';

const path = require('path');
const { dummyPaymentHandler, LanguageCode } = require('@vendure/core');

function required(name) {
    const value = process.env[name];
    if (!value) {
        throw new Error(`${name} is not set`);
    }
    return value;
}

const config = {
    apiOptions: {
        hostname: '127.0.0.1',
        port: Number(required('CS_VENDURE_PORT')),
        adminApiPath: 'admin-api',
        shopApiPath: 'shop-api',
    },
    authOptions: {
        tokenMethod: ['bearer', 'cookie', 'api-key'],
        superadminCredentials: {
            identifier: required('CS_VENDURE_SUPERADMIN'),
            password: required('CS_VENDURE_SUPERADMIN_PASSWORD'),
        },
        cookieOptions: { secret: 'cs-console-tests-only' },
    },
    dbConnectionOptions: {
        type: 'sqljs',
        location: path.resolve(required('CS_VENDURE_DB')),
        autoSave: true,
        synchronize: true,
        logging: false,
    },
    defaultLanguageCode: LanguageCode.en,
    paymentOptions: {
        paymentMethodHandlers: [dummyPaymentHandler],
    },
    plugins: [],
};

module.exports = { config };
